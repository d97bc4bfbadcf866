"""The HVPR detector (spec §4.6): voxel stream, point stream (training only), memory, hybrid pseudo images,
AMFM backbone, anchor head, targets, losses (E34) and post-processing (E37)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from hvpr.config import HVPRConfig, preset
from hvpr.model.anchors import AnchorGenerator, assign_targets
from hvpr.model.backbone import AMFMBackbone
from hvpr.model.head import AnchorHead
from hvpr.model.losses import detection_loss
from hvpr.model.memory import MemoryBank, aggregate_points, memory_loss, scatter_to_bev
from hvpr.model.point import PointNet2MSG
from hvpr.model.voxel import PillarFeatureNet, ScaleEncoder
from hvpr.ops.boxes import ResidualCoder, apply_direction
from hvpr.ops.nms import nms_bev

FAR_RANGE = 40.0  # §3.2 step 6


class Detections(NamedTuple):
    """Detections of one scene: boxes (M, 7) LiDAR frame, scores (M,), labels (M,) 1-based, class names."""

    boxes: Tensor
    scores: Tensor
    labels: Tensor
    class_names: tuple[str, ...]


def sample_points(points: Tensor, num: int, generator: torch.Generator | None = None) -> Tensor:
    """§3.2 step 6: exactly ``num`` points; far points (‖xyz‖ ≥ 40 m) kept, the rest drawn from near points;
    too few points are padded with random duplicates (with replacement below num/2, documented deviation)."""
    n = points.shape[0]
    if n == 0:
        return points.new_zeros(num, points.shape[1])
    if n >= num:
        rng = torch.linalg.vector_norm(points[:, :3], dim=1)
        far = torch.nonzero(rng >= FAR_RANGE).squeeze(1)
        near = torch.nonzero(rng < FAR_RANGE).squeeze(1)
        if far.numel() >= num:
            choice = torch.randperm(n, generator=generator)[:num]
        else:
            pick = near[torch.randperm(near.numel(), generator=generator)[:num - far.numel()]]
            choice = torch.cat([pick, far])
    else:
        extra = num - n
        dup = torch.randperm(n, generator=generator)[:extra] if extra <= n else \
            torch.randint(0, n, (extra,), generator=generator)
        choice = torch.cat([torch.arange(n), dup])
    choice = choice[torch.randperm(choice.numel(), generator=generator)]
    return points[choice]


class HVPR(nn.Module):
    """HVPR single-stage detector; ``HVPR(preset("tiny_synthetic"))`` for tests, ``HVPR()`` = ``kitti_car``.

    ``forward(batch)``: train mode -> ``{"loss", "losses"}``; eval mode -> ``{"detections": [Detections]}``.
    batch keys: ``voxels`` (N_v, P, 4), ``voxel_coords`` (N_v, 4: b, z, y, x), ``voxel_num_points`` (N_v,),
    ``batch_size``; training also ``points`` (B·N_p, 5: b, x, y, z, r, equal N_p per scene) and ``gt_boxes``
    (B, M, 8: box + 1-based class, zero rows = padding).
    """

    def __init__(self, config: HVPRConfig | None = None) -> None:
        super().__init__()
        cfg = (config if config is not None else preset("kitti_car")).validate()
        self.config = cfg
        d, m = cfg.data, cfg.model
        self.class_names = tuple(d.class_names)
        self.vfe = PillarFeatureNet(d.voxel_size, d.point_range, m.pfn_filters)
        self.scale_encoder = ScaleEncoder(m.scale_filters)
        pn = m.point_net
        self.point_stream = PointNet2MSG(pn.npoints, pn.radii, pn.nsamples, pn.mlps, pn.fp_mlps) \
            if pn.use_point_stream else None
        mm = m.memory
        # num_items = 0: no memory at all (plain-pillar baseline, needs use_point_stream = false)
        self.memory = MemoryBank(mm.num_items, mm.dim, mm.k, mm.shrink) if mm.num_items > 0 else None
        bb = m.backbone
        c = self.vfe.out_channels
        self.backbone = AMFMBackbone(2 * c if self.memory is not None else c, self.scale_encoder.out_channels, bb.layer_nums, bb.layer_strides,
                                     bb.num_filters, bb.scale_filters, bb.refine_steps, bb.upsample_strides,
                                     bb.upsample_filters, bb.use_amfm)
        self.nx, self.ny = d.grid_size
        stride = cfg.feature_stride
        self.feature_size = (self.ny // stride, self.nx // stride)
        self.anchor_generators = [AnchorGenerator(d.point_range, a.sizes, a.rotations, a.bottom_height)
                                  for a in m.head.anchors]
        self.anchors_per_class = [g.num_anchors_per_location for g in self.anchor_generators]
        self.head = AnchorHead(self.backbone.out_channels, sum(self.anchors_per_class), len(self.class_names),
                               m.head.num_dir_bins)
        grid = torch.cat([g.generate(self.feature_size) for g in self.anchor_generators], dim=2)
        self.register_buffer("anchors", grid.reshape(-1, 7), persistent=False)

    # ------------------------------------------------------------------ parts
    def assign(self, gt_boxes: Tensor) -> tuple[Tensor, Tensor]:
        """Targets for all anchors (§3.7). gt_boxes (B, M, 8) -> labels (B, N_a), reg targets (B, N_a, 7)."""
        h, w = self.feature_size
        loc = h * w
        labels_b, targets_b = [], []
        per_class = [g.generate(self.feature_size).reshape(-1, 7).to(gt_boxes.device)
                     for g in self.anchor_generators]
        for gts in gt_boxes:
            gts = gts[gts[:, :7].abs().sum(1) > 0]
            ls, ts = [], []
            for ci, (anc, a_cfg) in enumerate(zip(per_class, self.config.model.head.anchors)):
                g = gts[gts[:, 7].long() == ci + 1]
                lab, tgt, _ = assign_targets(anc, g[:, :7], g[:, 7], a_cfg.matched, a_cfg.unmatched)
                ls.append(lab.view(loc, -1))
                ts.append(tgt.view(loc, -1, 7))
            labels_b.append(torch.cat(ls, 1).reshape(-1))
            targets_b.append(torch.cat(ts, 1).reshape(-1, 7))
        return torch.stack(labels_b), torch.stack(targets_b)

    def voxel_memory_features(self, v: Tensor) -> Tensor:
        """Inference-mode hybrid pillar features h^vm = [v ; g^m] (E16–E18), or v alone without a memory."""
        if self.memory is None:
            return v
        return torch.cat([v, self.memory.read_voxels(v)], 1)

    def _point_features(self, batch: dict[str, Any], batch_size: int) -> Tensor:
        pts = batch["points"]
        pts = pts[torch.argsort(pts[:, 0], stable=True)].view(batch_size, -1, pts.shape[1])
        return self.point_stream(pts[..., 1:4].contiguous(), pts[..., 4:5].transpose(1, 2).contiguous())

    def _detect_losses(self, x: Tensor, attn: list[Tensor] | None, labels: Tensor, targets: Tensor,
                       suffix: str) -> dict[str, Tensor]:
        cls, box, dr = self.head(self.backbone(x, attn))
        out = detection_loss(cls, box, dr, labels, targets, self.anchors, len(self.class_names),
                             self.config.model.head.dir_offset)
        return {f"loss_{k}_{suffix}": out[k] for k in ("cls", "loc", "dir")}

    # ------------------------------------------------------------------ forward
    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        b = int(batch["batch_size"])
        voxels, coords, npts = batch["voxels"], batch["voxel_coords"].long(), batch["voxel_num_points"]
        v = self.vfe(voxels, npts, coords)
        sigma = self.scale_encoder(voxels, npts)
        attn = self.backbone.attention(scatter_to_bev(sigma, coords, b, self.ny, self.nx))
        if not self.training:
            x = scatter_to_bev(self.voxel_memory_features(v), coords, b, self.ny, self.nx)
            return {"detections": self.post_process(*self.head(self.backbone(x, attn)))}

        mcfg = self.config.model.memory
        labels, targets = self.assign(batch["gt_boxes"])
        losses: dict[str, Tensor] = {}
        if self.point_stream is not None:
            p = self._point_features(batch, b)  # (B, C, N_p)
            g_p = v.new_zeros(v.shape)
            g_m = v.new_zeros(v.shape)
            for i in range(b):
                sel = torch.nonzero(coords[:, 0] == i).squeeze(1)
                gp_i, q_i = aggregate_points(v[sel], p[i].T, mcfg.k)
                gm_i = self.memory.read_points(v[sel], q_i) if mcfg.train_query == "point" \
                    else self.memory.read_voxels(v[sel])
                g_p = g_p.index_put((sel,), gp_i)
                g_m = g_m.index_put((sel,), gm_i)
            x_vm = scatter_to_bev(torch.cat([v.detach(), g_m], 1), coords, b, self.ny, self.nx)  # E18
            x_vp = scatter_to_bev(torch.cat([v, g_p], 1), coords, b, self.ny, self.nx)
            losses.update(self._detect_losses(x_vm, attn, labels, targets, "mem"))
            losses.update(self._detect_losses(x_vp, attn, labels, targets, "pt"))
            losses["loss_mem"] = memory_loss(g_m, g_p, mcfg.loss_norm, self.config.loss.mem)
        else:
            # without the point stream (plain-pillar ablation) the pillar half is not detached, otherwise the
            # pillar net would receive no gradient at all
            x_vm = scatter_to_bev(self.voxel_memory_features(v), coords, b, self.ny, self.nx)
            losses.update(self._detect_losses(x_vm, attn, labels, targets, "mem"))
        w = self.config.loss
        weights = {"cls": w.cls, "loc": w.loc, "dir": w.dir}
        total = sum((weights[k.split("_")[1]] * val for k, val in losses.items() if k != "loss_mem"),
                    start=v.new_zeros(()))
        if "loss_mem" in losses:
            total = total + losses["loss_mem"]
        return {"loss": total, "losses": losses}

    @torch.no_grad()
    def post_process(self, cls: Tensor, box: Tensor, dr: Tensor) -> list[Detections]:
        """E37: sigmoid scores, argmax class, score filter, top nms_pre, rotated-BEV NMS, ≤ nms_post boxes."""
        hc, pc = self.config.model.head, self.config.post
        boxes = ResidualCoder.decode(box, self.anchors)
        heading = apply_direction(boxes[..., 6], dr.argmax(-1), hc.dir_offset, hc.dir_limit_offset, hc.num_dir_bins)
        boxes = torch.cat([boxes[..., :6], heading[..., None]], -1)
        out = []
        for bx, sc in zip(boxes, torch.sigmoid(cls)):
            score, label = sc.max(-1)
            keep = torch.nonzero(score >= pc.score_thresh).squeeze(1)
            bx, score, label = bx[keep], score[keep], label[keep]
            if pc.multi_class_nms:
                idx = torch.cat([torch.nonzero(label == c).squeeze(1)[
                    nms_bev(bx[label == c], score[label == c], pc.nms_thresh, pc.nms_pre, pc.nms_post)]
                    for c in range(len(self.class_names))])
                idx = idx[torch.sort(score[idx], descending=True, stable=True).indices][:pc.nms_post]
            else:
                idx = nms_bev(bx, score, pc.nms_thresh, pc.nms_pre, pc.nms_post)
            out.append(Detections(bx[idx].float(), score[idx], label[idx] + 1, self.class_names))
        return out

    # ------------------------------------------------------------------ convenience
    def make_batch(self, clouds: list[Tensor], training: bool = False, seed: int = 0) -> dict[str, Any]:
        """Range crop (x, y inclusive), point sampling (seeded) and voxelization of raw (N, 4) clouds."""
        from hvpr.data.voxelize import PillarVoxelizer

        d = self.config.data
        gen = torch.Generator().manual_seed(seed)
        key = "voxelizer_train" if training else "voxelizer_test"
        vox = self.__dict__.get(key)
        if vox is None:  # spconv PointToVoxel when importable, else the identical torch voxelizer
            vox = PillarVoxelizer(d.voxel_size, d.point_range, d.max_points_per_voxel,
                                  d.max_voxels_train if training else d.max_voxels_test, backend=d.voxel_backend)
            self.__dict__[key] = vox
        r = d.point_range
        pts_all, vs, cs, ns = [], [], [], []
        for i, pts in enumerate(clouds):
            pts = pts.float()
            ok = (pts[:, 0] >= r[0]) & (pts[:, 0] <= r[3]) & (pts[:, 1] >= r[1]) & (pts[:, 1] <= r[4])
            pts = sample_points(pts[ok], d.num_points_train if training else d.num_points_test, gen)
            voxels, coords, num = vox(pts)
            pts_all.append(torch.cat([pts.new_full((pts.shape[0], 1), i), pts], 1))
            vs.append(voxels)
            cs.append(torch.cat([coords.new_full((coords.shape[0], 1), i), coords], 1))
            ns.append(num)
        dev = self.anchors.device
        return {"points": torch.cat(pts_all).to(dev), "voxels": torch.cat(vs).to(dev),
                "voxel_coords": torch.cat(cs).to(dev), "voxel_num_points": torch.cat(ns).to(dev),
                "batch_size": len(clouds)}

    @torch.no_grad()
    def predict(self, points: np.ndarray | Tensor | list, score_thresh: float | None = None,
                seed: int = 0) -> Detections | list[Detections]:
        """Detect in raw (N, ≥4) cloud(s); runs in eval mode (restores the previous mode)."""
        single = not isinstance(points, list)
        clouds = [torch.as_tensor(np.asarray(p) if not isinstance(p, Tensor) else p)[:, :4]
                  for p in ([points] if single else points)]
        was = self.training
        self.eval()
        try:
            dets = self(self.make_batch(clouds, seed=seed))["detections"]
        finally:
            self.train(was)
        if score_thresh is not None:
            dets = [Detections(dt.boxes[dt.scores >= score_thresh], dt.scores[dt.scores >= score_thresh],
                               dt.labels[dt.scores >= score_thresh], dt.class_names) for dt in dets]
        return dets[0] if single else dets

    # ------------------------------------------------------------------ checkpoints (cvcore format)
    def save_checkpoint(self, path: str, optimizer: Any = None, epoch: int = 0, step: int = 0) -> Any:
        """Atomic cvcore checkpoint with the model state, the config and optionally the optimizer state."""
        from cvcore.checkpoint import save_checkpoint
        from hvpr import __version__

        return save_checkpoint(path, package="hvpr", version=__version__, model=self, optimizer=optimizer,
                               config=self.config, epoch=epoch, step=step)

    def load_checkpoint(self, path: str, map_location: Any = "cpu", strict: bool = True) -> dict[str, Any]:
        """Load the weights of a checkpoint written by :meth:`save_checkpoint`; returns the checkpoint dict."""
        from cvcore.checkpoint import load_checkpoint, restore
        from hvpr import __version__

        ckpt = load_checkpoint(path, package="hvpr", version=__version__, map_location=map_location)
        restore(ckpt, model=self, rng=False, strict=strict)
        return ckpt

    @classmethod
    def from_checkpoint(cls, path: str, map_location: Any = "cpu") -> HVPR:
        """Rebuild the model from the config stored in the checkpoint and load its weights."""
        from cvcore.checkpoint import load_checkpoint, restore
        from cvcore.config import from_dict
        from cvcore.errors import CheckpointError
        from hvpr import __version__

        ckpt = load_checkpoint(path, package="hvpr", version=__version__, map_location=map_location)
        if not isinstance(ckpt.get("config"), dict):
            raise CheckpointError(f"{path} holds no HVPR config; it was not written by HVPR.save_checkpoint")
        model = cls(from_dict(HVPRConfig, ckpt["config"]))
        restore(ckpt, model=model, rng=False)
        return model
