import numpy as np
import pytest
import torch

import colorlab as cl


def _brute_force(ab, k, sigma):
    points = ab.permute(0, 2, 3, 1).double()
    dist2 = (points[..., None, :] - cl.ab_bins(torch.float64, ab.device)).square().sum(-1)
    d2, index = torch.topk(dist2, k, dim=-1, largest=False, sorted=True)
    w = torch.exp(-d2 / (2 * sigma**2))
    return index.permute(0, 3, 1, 2), (w / w.sum(-1, keepdim=True)).permute(0, 3, 1, 2)


def _golden_ab(golden, dtype=torch.float64):
    return torch.from_numpy(golden["ab"]).to(dtype).T.reshape(1, 2, -1, 1)


@pytest.mark.parametrize("k", [1, 5, 10, 32])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_matches_brute_force(k, dtype, device):
    """Everywhere in [-115, 115]²: the same neighbours; weights exact in float64, within 1e-5 in float32."""
    ab = (torch.rand(2, 2, 24, 20, generator=torch.Generator().manual_seed(k)) * 230 - 115).to(device, dtype)
    index, weight = cl.soft_encode_sparse(ab, k=k)
    ref_index, ref_weight = _brute_force(ab, k, cl.SIGMA)
    assert index.shape == weight.shape == (2, k, 24, 20)
    assert index.dtype == torch.int64 and weight.dtype == dtype and index.device.type == device.type
    assert torch.equal(index, ref_index)
    assert (weight.double() - ref_weight).abs().max() < (1e-12 if dtype == torch.float64 else 1e-5)


@pytest.mark.parametrize("k", [5, 10])
def test_float32_weights_within_1e6_for_srgb_colours(k, device):
    rgb = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(k))
    rgb[0, :, 0, :9] = torch.eye(3).repeat(1, 3)  # the pure primaries, corners of the gamut
    ab = cl.rgb_to_lab(rgb)[:, 1:].to(device)
    index, weight = cl.soft_encode_sparse(ab, k=k)
    ref_index, ref_weight = _brute_force(ab, k, cl.SIGMA)
    assert torch.equal(index, ref_index)
    assert (weight.double() - ref_weight).abs().max() < 1e-6


def test_sparse_matches_brute_force_on_a_photo():
    ab = cl.rgb_to_lab(cl.to_tensor(cl.sample_photo("chelsea")))[:, 1:]
    index, weight = cl.soft_encode_sparse(ab)
    ref_index, ref_weight = _brute_force(ab, cl.SOFT_K, cl.SIGMA)
    # Photos have ties (equidistant bins), where only the order of equal weights may differ.
    assert (weight.double() - ref_weight).abs().max() < 1e-6
    assert (cl.soft_encode(ab).double() - torch.zeros(1, cl.NUM_BINS, *ab.shape[2:], dtype=torch.float64).scatter_(1, ref_index, ref_weight)).abs().max() < 1e-6


@pytest.mark.parametrize(("k", "key"), [(5, "soft_k5_sigma5"), (10, "soft_k10_sigma5")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dense_matches_the_authors(golden, k, key, dtype):
    z = cl.soft_encode(_golden_ab(golden, dtype), k=k)
    assert np.abs(z[0, :, :, 0].T.double().numpy() - golden[key]).max() < 1e-5


def test_k5_and_k10_differ_by_at_most_0052(golden):
    diff = np.abs(golden["soft_k5_sigma5"] - golden["soft_k10_sigma5"]).max()
    ours = (cl.soft_encode(_golden_ab(golden), k=5) - cl.soft_encode(_golden_ab(golden), k=10)).abs().max().item()
    assert ours == pytest.approx(diff, abs=1e-6) and ours < 0.053


def test_dense_invariants(device):
    ab = (torch.rand(1, 2, 8, 8) * 200 - 100).to(device)
    z = cl.soft_encode(ab)
    assert z.shape == (1, cl.NUM_BINS, 8, 8)
    assert torch.allclose(z.sum(1), torch.ones(1, 8, 8, device=device))
    assert ((z > 0).sum(1) <= cl.SOFT_K).all()
    assert torch.equal(z.argmax(1), cl.nearest_bin(ab))


def test_nearest_bin_carries_the_largest_weight():
    ab = torch.rand(3, 2, 10, 10) * 200 - 100
    index, weight = cl.soft_encode_sparse(ab)
    assert torch.equal(weight.argmax(1), torch.zeros(3, 10, 10, dtype=torch.long))
    assert torch.equal(index[:, 0], cl.nearest_bin(ab))


def test_far_away_values_stay_finite():
    ab = torch.tensor([1e6, -1e6]).view(1, 2, 1, 1)
    index, weight = cl.soft_encode_sparse(ab)
    assert torch.isfinite(weight).all() and torch.allclose(weight.sum(1), torch.ones(1, 1, 1))


def test_sigma_controls_the_spread():
    ab = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    _, sharp = cl.soft_encode_sparse(ab, sigma=1.0)
    _, broad = cl.soft_encode_sparse(ab, sigma=50.0)
    assert sharp[0, 0] > broad[0, 0]
    assert broad.std() < 0.05  # nearly uniform over the 5 neighbours


@pytest.mark.parametrize("fn", [cl.soft_encode, cl.soft_encode_sparse, cl.nearest_bin])
def test_bad_input(fn):
    with pytest.raises(ValueError, match=r"ab must have shape \(B, 2, H, W\)"):
        fn(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="ab must have shape"):
        fn(torch.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="floating"):
        fn(torch.zeros(1, 2, 2, 2, dtype=torch.int32))
    with pytest.raises(TypeError, match="torch.Tensor"):
        fn([[0.0, 0.0]])


def test_bad_k_and_sigma():
    ab = torch.zeros(1, 2, 1, 1)
    with pytest.raises(ValueError, match="k must be"):
        cl.soft_encode_sparse(ab, k=0)
    with pytest.raises(ValueError, match="sigma must be positive"):
        cl.soft_encode(ab, sigma=0.0)


def test_candidate_table_is_what_cell_by_cell_distances_give():
    # The table of k = 3, rebuilt from (cells, Q, 2) distances one cell at a time, as it is defined.
    from colorlab import encode

    bins = cl.ab_bins(torch.float64).numpy()
    table = encode._candidate_table(3)
    for cell in (0, 1234, 4660, encode._CELLS_PER_AXIS ** 2 - 1):
        lo = -encode._TABLE_LIMIT + encode._CELL * np.array(divmod(cell, encode._CELLS_PER_AXIS))
        hi = lo + encode._CELL
        nearest = np.sqrt((np.maximum(0.0, np.maximum(lo - bins, bins - hi)) ** 2).sum(-1))
        farthest = np.sqrt((np.maximum(np.abs(bins - lo), np.abs(bins - hi)) ** 2).sum(-1))
        found = np.flatnonzero(nearest <= np.sort(farthest)[2] + 1e-9)
        row = table[cell]
        np.testing.assert_array_equal(row[row != encode._SENTINEL], found)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_ab_is_encoded_in_float32_and_returned_in_its_dtype(dtype):
    ab = (torch.rand(1, 2, 8, 8, generator=torch.Generator().manual_seed(3)) * 200 - 100).to(dtype)
    index, weight = cl.soft_encode_sparse(ab)
    ref_index, ref_weight = cl.soft_encode_sparse(ab.float())
    assert torch.equal(index, ref_index) and weight.dtype == dtype
    assert torch.equal(weight, ref_weight.to(dtype))
    z = cl.soft_encode(ab)
    assert z.dtype == dtype and torch.equal(z, cl.soft_encode(ab.float()).to(dtype))
    assert torch.equal(cl.nearest_bin(ab), cl.nearest_bin(ab.float()))


@pytest.mark.parametrize("fn", [cl.soft_encode, cl.soft_encode_sparse, cl.nearest_bin])
def test_nan_ab_is_refused_naming_the_argument(fn):
    ab = torch.zeros(1, 2, 3, 3)
    ab[0, 1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match=r"^ab must hold no NaN; it holds 1 NaN of 18 values"):
        fn(ab)
    ab[0, 1, 2, 2] = float("inf")  # infinite ab is clamped onto the table's border, as any ab beyond ±120
    assert torch.equal(cl.nearest_bin(ab), cl.nearest_bin(ab.clamp(-120, 120)))
    fn(ab)
