"""Cached constants (colour matrices, bin centres, lookup tables) are shared safely, and files are written safely."""

from __future__ import annotations

import os

import pytest
import torch

import colorlab as cl
from colorlab import _atomic, bins, color, encode


def _clear_caches():
    for cached in (color._matrices, bins.cached_ab_bins, encode._device_tables):
        cached.cache_clear()


def test_editing_returned_values_in_place_cannot_corrupt_a_cache():
    rgb = cl.to_tensor(cl.sample_photo("coffee"))[:, :, :16, :16]
    ab = cl.rgb_to_lab(rgb)[:, 1:]
    z = torch.softmax(torch.randn(1, cl.NUM_BINS, 4, 4, generator=torch.Generator().manual_seed(0)), 1)
    calls = {
        "ab_bins": lambda: cl.ab_bins(),
        "imagenet_prior": lambda: cl.imagenet_prior(),
        "rgb_to_lab": lambda: cl.rgb_to_lab(rgb),
        "lab_to_rgb": lambda: cl.lab_to_rgb(cl.rgb_to_lab(rgb)),
        "soft_encode_sparse": lambda: cl.soft_encode_sparse(ab),
        "nearest_bin": lambda: cl.nearest_bin(ab),
        "annealed_mean": lambda: cl.annealed_mean(z),
        "decode_mode": lambda: cl.decode_mode(z),
    }
    for name, call in calls.items():
        first = call()
        outputs = first if isinstance(first, tuple) else (first,)
        expected = [t.clone() for t in outputs]
        for t in outputs:
            t.zero_() if t.dtype != torch.bool else t.fill_(False)  # a caller scribbling on what it got
        again = call()
        for a, b in zip(again if isinstance(again, tuple) else (again,), expected):
            assert torch.equal(a, b), name


def test_constants_first_built_in_inference_mode_serve_training_too():
    """A cache first filled under torch.inference_mode() (e.g. by colorize) must not break autograd later."""
    _clear_caches()
    rgb = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    with torch.inference_mode():
        cl.soft_encode_sparse(cl.rgb_to_lab(rgb)[:, 1:])
        cl.annealed_mean(torch.softmax(torch.randn(1, cl.NUM_BINS, 2, 2, dtype=torch.float64), 1))
    rgb.requires_grad_(True)
    lab = cl.rgb_to_lab(rgb)
    _, weight = cl.soft_encode_sparse(lab[:, 1:])
    logits = torch.randn(1, cl.NUM_BINS, 2, 2, dtype=torch.float64, requires_grad=True)
    (lab.sum() + weight.sum() + cl.annealed_mean(torch.softmax(logits, 1)).sum()).backward()
    assert rgb.grad is not None and logits.grad is not None


class _LabRoundTrip(torch.nn.Module):
    def forward(self, rgb):
        lab = cl.rgb_to_lab(rgb)
        return cl.lab_to_rgb(lab), cl.annealed_mean_from_logits(lab[:, :1].expand(-1, cl.NUM_BINS, -1, -1))


def test_constants_first_built_while_tracing_are_real_and_exported_as_numbers():
    """torch.export (which torch.onnx.export runs) with empty caches: the graph holds the right constants, and
    the caches hold real tensors afterwards, not the tracer's stand-ins."""
    _clear_caches()
    rgb = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    program = torch.export.export(_LabRoundTrip(), (rgb,))
    for cached in (color._matrices, bins.cached_ab_bins):
        assert cached.cache_info().currsize == 1
    assert all(type(t) is torch.Tensor for t in color._matrices(torch.float32, torch.device("cpu")))
    assert type(bins.cached_ab_bins(torch.float32, torch.device("cpu"))) is torch.Tensor
    eager = _LabRoundTrip()(rgb)
    for got, want in zip(program.module()(rgb), eager, strict=True):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(eager[0], rgb, atol=1e-4, rtol=0)


def test_atomic_write_fsyncs_and_never_touches_the_umask(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("the process umask was changed"))
    path = _atomic.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"data"))
    assert path.read_bytes() == b"data" and len(synced) == 2  # the file, then its folder
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    monkeypatch.undo()
    mask = os.umask(0o077)
    try:
        _atomic.atomic_write(tmp_path / "private.bin", lambda f: f.write(b"x"))
    finally:
        os.umask(mask)
    assert (tmp_path / "private.bin").stat().st_mode & 0o777 == 0o600  # the caller's umask applies, unchanged


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    _atomic.atomic_write(tmp_path / "a.bin", lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _atomic.atomic_write(tmp_path / "a.bin", broken)
    assert (tmp_path / "a.bin").read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1
