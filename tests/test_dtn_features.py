"""DTN input features (precoders.dtn.features), eqs. (56)-(57)."""

from __future__ import annotations

import numpy as np
import pytest
from factories import random_scsi

from precoders.dtn.features import NUM_FEATURES, batch_features, scsi_features


class TestFeatures:
    def test_shape_dtype_and_no_nt_dimension(self) -> None:
        rng = np.random.default_rng(0)
        a = scsi_features(random_scsi(rng, 3, 4, (2, 2)), 0.1)
        assert a.shape == (3, 4, NUM_FEATURES) and a.dtype == np.float32
        rng = np.random.default_rng(0)
        b = scsi_features(random_scsi(rng, 3, 4, (8, 4)), 0.1)
        np.testing.assert_array_equal(a, b)

    def test_values_are_order_one(self) -> None:
        x = scsi_features(random_scsi(np.random.default_rng(1), 5, 12), 10 ** (-1.5))
        assert np.all(np.abs(x) < 5)

    def test_power_and_noise_are_repeated(self) -> None:
        scsi = random_scsi(np.random.default_rng(2), 3, 4)
        x = scsi_features(scsi, np.array([0.1, 0.2, 0.4]))
        np.testing.assert_allclose(x[:, 0, 6], 1.0 + np.log10([0.1, 0.2, 0.4]) + 0.5, rtol=1e-6)
        assert np.all(x[:, :, 6] == x[:, :1, 6]) and np.all(x[:, :, 7] == x[:1, :, 7])

    def test_permutation_commutes(self) -> None:
        scsi = random_scsi(np.random.default_rng(3), 4, 6)
        x = scsi_features(scsi, 0.1)
        ps, pk = [2, 0, 3, 1], [5, 1, 0, 4, 2, 3]
        np.testing.assert_array_equal(scsi_features(scsi.take(ps, pk), 0.1), x[ps][:, pk])

    def test_batch(self) -> None:
        rng = np.random.default_rng(4)
        drops = [random_scsi(rng, 2, 3) for _ in range(3)]
        x = batch_features(drops, [0.1, 0.2, 0.3])
        assert x.shape == (3, 2, 3, NUM_FEATURES)
        np.testing.assert_array_equal(x[1], scsi_features(drops[1], 0.2))
        with pytest.raises(ValueError, match="same"):
            batch_features([random_scsi(rng, 2, 3), random_scsi(rng, 2, 4)], 0.1)
