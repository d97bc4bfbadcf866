import pytest
import torch

from isgan.shuffle import mix_parts, official_partner_indices, part_mask, partner_indices


@pytest.mark.parametrize("p, k", [(4, 4), (8, 4), (3, 2)])
def test_partners_share_the_label_and_differ(p, k):
    labels = torch.arange(p).repeat_interleave(k)[torch.randperm(p * k)]
    for seed in range(20):
        j = partner_indices(labels, torch.Generator().manual_seed(seed))
        assert (j != torch.arange(p * k)).all()
        assert torch.equal(labels[j], labels)


def test_partner_covers_every_candidate_and_lonely_identity_errors():
    labels = torch.tensor([0, 0, 0, 1, 1])
    seen = {int(partner_indices(labels, torch.Generator().manual_seed(s))[0]) for s in range(60)}
    assert seen == {1, 2}
    with pytest.raises(ValueError, match="one image"):
        partner_indices(torch.tensor([0, 0, 1]))


def test_official_partner_rule_uses_blocks_of_p():
    j = official_partner_indices(16, 4, torch.Generator().manual_seed(0))
    i = torch.arange(16)
    assert (j != i).all() and torch.equal(j // 4, i // 4)
    # with P != K the official rule picks other identities (defect 3)
    labels = torch.arange(4).repeat_interleave(2)  # K = 2 images per id, block P = 4
    jj = official_partner_indices(8, 4, torch.Generator().manual_seed(1))
    assert (labels[jj] != labels).any()


def test_part_mask_never_degenerate_and_official_never_shuffles():
    g = torch.Generator().manual_seed(0)
    sums = [int(part_mask(8, g).sum()) for _ in range(1000)]
    assert min(sums) >= 1 and max(sums) <= 7
    assert not part_mask(official=True).any()


def test_mix_parts_takes_exactly_the_masked_blocks():
    a, b = torch.zeros(2, 8 * 3), torch.ones(2, 8 * 3)
    mask = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1], dtype=torch.bool)
    m = mix_parts(a, b, mask, 3)
    assert m.view(2, 8, 3)[:, :, 0].tolist() == [[1, 0, 0, 1, 0, 0, 0, 1]] * 2
    assert (m.view(2, 8, 3) == m.view(2, 8, 3)[:, :, :1]).all()
    with pytest.raises(ValueError, match="do not fit"):
        mix_parts(a, b, mask, 4)
