"""The edit protocol: positions by absolute column, per-head SAE views, composition."""

import pytest
import torch
from helpers import make_sae

from saebench.models.edits import (
    add_direction,
    as_edit,
    codes_at,
    compose,
    patch_latents,
    read_rows,
    replace_at,
    sae_view,
    zero_where,
)


def test_a_position_edit_applies_only_while_its_column_is_in_the_slice():
    edit = replace_at((torch.tensor([0, 1]), torch.tensor([1, 4])), torch.tensor([[7.0], [9.0]]))
    whole = edit(torch.zeros(2, 6, 1))
    assert whole[:, :, 0].nonzero().tolist() == [[0, 1], [1, 4]]
    assert whole[1, 4, 0] == 9
    late = edit(torch.zeros(2, 1, 1), start=4)  # generating: only column 4 is running
    assert late[:, 0, 0].tolist() == [0.0, 9.0]
    assert edit(torch.zeros(2, 1, 1), start=6).abs().sum() == 0  # past every pair


def test_masks_positions_and_pairs_address_the_same_cells():
    mask = torch.tensor([[False, True, False], [False, False, True]])
    positions = torch.tensor([1, 2])
    pairs = (torch.tensor([0, 1]), torch.tensor([1, 2]))
    outs = [
        add_direction(torch.ones(4), 2.0, w)(torch.zeros(2, 3, 4)) for w in (mask, positions, pairs)
    ]
    for out in outs[1:]:
        assert torch.equal(out, outs[0])
    steered_late = add_direction(torch.ones(4), 1.0, mask)(torch.zeros(2, 1, 4), start=2)
    assert steered_late[:, 0, 0].tolist() == [0.0, 1.0]
    assert add_direction(torch.ones(4), 1.0)(torch.zeros(1, 1, 4), start=30).sum() == 4


def test_zero_where_is_position_aware_and_out_of_place():
    mask = torch.tensor([[True, False]])
    act = torch.ones(1, 1, 3)
    assert zero_where(mask)(act, start=0).sum() == 0
    assert zero_where(mask)(act, start=1).sum() == 3  # column 1 is not masked
    assert act.sum() == 3


def test_per_head_views_read_and_write_one_head():
    sae = make_sae(d_in=8, d_sae=16, hook_name="blocks.0.attn.hook_z", hook_head_index=2)
    act = torch.randn(2, 5, 4, 8)
    rows = read_rows(act, torch.tensor([0, 1]), torch.tensor([3, 0]), sae.meta)
    assert torch.equal(rows, sae_view(act, sae.meta)[[0, 1], [3, 0]])
    steered = add_direction(sae.W_dec[0], 3.0, torch.tensor([3, 0]), meta=sae.meta)(act.clone())
    changed = (steered != act).any(-1)
    assert changed.nonzero().tolist() == [[0, 3, 2], [1, 0, 2]]
    flat = make_sae(d_in=32, d_sae=16, hook_name="blocks.0.attn.hook_z")
    codes = codes_at(flat, act, torch.tensor([1, 1]))
    assert codes.shape == (2, 16)
    patched = patch_latents(flat, torch.tensor([4, 4]), codes, keep_error=True)(act.clone())
    assert torch.equal(patched[:, :4], act[:, :4])
    assert not torch.equal(patched[:, 4], act[:, 4])


def test_composition_and_plain_functions():
    edit = compose(lambda a: a + 1, None, replace_at(torch.tensor([0]), torch.tensor([5.0])))
    out = edit(torch.zeros(1, 2, 1))
    assert out[0, :, 0].tolist() == [5.0, 1.0]
    assert as_edit(lambda a: a * 2)(torch.ones(1, 1, 1), start=9).item() == 2
    assert as_edit(None)(torch.ones(1)).item() == 1
    assert edit.then(lambda a: a * 2)(torch.zeros(1, 2, 1))[0, :, 0].tolist() == [10.0, 2.0]
    with pytest.raises(TypeError):
        as_edit(3)
    with pytest.raises(ValueError, match="explicit positions"):
        patch_latents(make_sae(), None, torch.zeros(1, 64))
