"""Exact path-dependent TreeSHAP for a forest of scikit-learn regression trees, by table look-up.

shap's TreeExplainer walks every node of every tree for each row (about 100,000 nodes for the
default forest: 3.5 ms of CPU). Its values are the Shapley values of the game
``v(S) = sum over leaves of value * prod(j in S: x_j inside the leaf's box on j)
* prod(j not in S: share of the training cover that went the leaf's way at splits on j)``.
A leaf's share of that game depends on the row only through *which* of its constrained features
the row falls inside, so each leaf's Shapley contributions are computed once per pattern when a
model is loaded. Explaining a row is then one box test per leaf and a sum of table rows.

Supported: forests (or single trees) of scikit-learn regression trees with one output, on rows
without missing values. Anything else returns None from :meth:`ForestShap.from_model`.
"""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np

__all__ = ["ForestShap"]

#: Above this many distinct features on one leaf's path the tables (2**d rows per leaf) grow too
#: large; such models are explained by shap itself.
MAX_PATH_FEATURES = 8


def _leaves(tree: Any, n_features: int, scale: float):
    """(value, lower bounds, upper bounds, cover shares) of each leaf of one fitted tree_."""
    left, right = tree.children_left, tree.children_right
    feature, threshold = tree.feature, tree.threshold
    cover = tree.weighted_n_node_samples
    values = tree.value.reshape(tree.node_count, -1)[:, 0] * scale
    found = []
    stack = [(0, np.full(n_features, -np.inf), np.full(n_features, np.inf), np.ones(n_features))]
    while stack:
        node, low, high, share = stack.pop()
        if left[node] == -1:
            found.append((values[node], low, high, share))
            continue
        j, cut = feature[node], threshold[node]
        for child, goes_left in ((left[node], True), (right[node], False)):
            child_low, child_high, child_share = low.copy(), high.copy(), share.copy()
            if goes_left:  # scikit-learn goes left when x <= threshold
                child_high[j] = min(child_high[j], cut)
            else:
                child_low[j] = max(child_low[j], cut)
            child_share[j] *= cover[child] / cover[node]
            stack.append((child, child_low, child_high, child_share))
    return found


def _shapley_weights(players: int) -> np.ndarray:
    """w(s) = s! (d-s-1)! / d!: the weight of a coalition of size s (0 <= s < d)."""
    return np.array(
        [factorial(s) * factorial(players - s - 1) / factorial(players) for s in range(players)]
    )


def _pattern_tables(shares: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shapley contributions (leaves, 2**d patterns, d features) of leaves on d shared features.

    Bit k of a pattern is 1 when the row lies inside the leaf's box on feature k.
    """
    count, players = shares.shape
    subsets = np.arange(2**players)
    bits = (subsets[:, None] >> np.arange(players)) & 1  # (subset, feature)
    # prod over features outside the coalition of the leaf's cover share: (leaves, subset)
    outside = np.prod(np.where(bits[None, :, :] == 1, 1.0, shares[:, None, :]), axis=2)
    inside = (subsets[:, None] & ~subsets[None, :]) == 0  # coalition S (rows) fits pattern a
    sizes = bits.sum(axis=1)
    weights = _shapley_weights(players)
    tables = np.empty((count, 2**players, players))
    for j in range(players):
        with_j = bits[:, j] == 1
        # phi_j = sum over S without j of w(|S|) * (v(S + j) - v(S)), as one matrix per pattern
        coefficient = np.where(
            with_j, weights[np.maximum(sizes - 1, 0)], -weights[np.minimum(sizes, players - 1)]
        )
        tables[:, :, j] = (outside * coefficient) @ inside
    return tables * values[:, None, None]


class ForestShap:
    """SHAP values of a tree ensemble, equal to shap's TreeExplainer (path-dependent).

    One table row per (leaf, pattern of the leaf's split features) holds the leaf's
    contributions to every feature (zero for features it does not split on).
    """

    def __init__(self, low, high, bits, offsets, table, base_value) -> None:
        self._low, self._high, self._bits = low, high, bits
        self._offsets, self._table = offsets, table
        self._ones = np.ones(len(offsets))
        self.base_value = base_value
        self.n_features = table.shape[1]

    @classmethod
    def from_model(cls, model: Any, n_features: int) -> ForestShap | None:
        trees = _regression_trees(model)
        if not trees:
            return None
        scale = 1.0 / len(trees)
        leaves = [leaf for tree in trees for leaf in _leaves(tree, n_features, scale)]
        values = np.array([leaf[0] for leaf in leaves])
        low = np.array([leaf[1] for leaf in leaves])
        high = np.array([leaf[2] for leaf in leaves])
        shares = np.array([leaf[3] for leaf in leaves])
        constrained = np.isfinite(low) | np.isfinite(high)
        if constrained.sum(axis=1).max() > MAX_PATH_FEATURES:
            return None
        # Expected value: every leaf weighted by the cover share of its whole path.
        base_value = float((values * shares.prod(axis=1)).sum())
        # bits[j, leaf]: the bit of feature j in the leaf's pattern (0: not split on j)
        bits = np.zeros((n_features, len(values)), dtype=np.int32)
        offsets = np.empty(len(values), dtype=np.int32)
        tables, start = [], 0
        masks = constrained @ (1 << np.arange(n_features))
        for mask in np.unique(masks):
            members = np.flatnonzero(masks == mask)
            features = np.flatnonzero(constrained[members[0]])
            bits[np.ix_(features, members)] = (1 << np.arange(len(features)))[:, None]
            group = _pattern_tables(shares[np.ix_(members, features)], values[members])
            wide = np.zeros((len(members), group.shape[1], n_features))
            wide[:, :, features] = group
            offsets[members] = start + np.arange(len(members)) * group.shape[1]
            start += len(members) * group.shape[1]
            tables.append(wide.reshape(-1, n_features))
        return cls(
            # Stored feature-major: the box test runs over contiguous rows of leaves.
            np.ascontiguousarray(low.T),
            np.ascontiguousarray(high.T),
            bits,
            offsets,
            np.concatenate(tables),
            base_value,
        )

    def shap_values(self, rows: np.ndarray) -> np.ndarray | None:
        """(rows, features) contributions; None when a row has a missing value."""
        rows = np.asarray(rows, dtype=np.float64)
        if np.isnan(rows).any():
            return None
        # shap (like scikit-learn) compares the float32 value with the threshold.
        rows = rows.astype(np.float32).astype(np.float64)
        out = np.empty((len(rows), self.n_features))
        for index, row in enumerate(rows):
            pattern = self._offsets.copy()
            for j in range(self.n_features):
                inside = (row[j] > self._low[j]) & (row[j] <= self._high[j])
                pattern += self._bits[j] * inside
            out[index] = self._ones @ self._table.take(pattern, axis=0)
        return out


def _regression_trees(model: Any) -> list[Any]:
    """The fitted ``tree_`` objects of a scikit-learn tree or forest regressor, or []."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor, ExtraTreeRegressor

    if isinstance(model, RandomForestRegressor | ExtraTreesRegressor):
        estimators = list(model.estimators_)
    elif isinstance(model, DecisionTreeRegressor | ExtraTreeRegressor):
        estimators = [model]
    else:
        return []
    trees = [estimator.tree_ for estimator in estimators]
    if any(tree.n_outputs != 1 for tree in trees):
        return []
    return trees
