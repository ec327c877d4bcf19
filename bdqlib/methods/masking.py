"""The masking baseline of SPPA's Table 2 (seed 003 §4): the person region filled with its mean intensity.

(B, C, T, H, W) -> (B, C, T, H, W): in every frame, the pixels of the person mask take the mean colour of the
masked region of that frame (SPPA: "the masked region filled with the mean intensity of the image covered by the
mask"). The mask comes from
* `SegmentationMask` (paper profile): torchvision's DeepLabV3-ResNet50 trained on COCO (VOC labels), class
  "person" -- a maintained segmentation model (SPPA used a YOLOv8 segmenter, which torchvision does not ship);
* `BackgroundMask` (cpu profile): background subtraction for a static camera -- the background is the clip's
  per-pixel temporal median, the person what differs from it by more than `threshold` grey levels (0..1),
  dilated by one pixel. A person who stands still for the whole clip is partly background to it: that is this
  mask's known weakness, and the measured numbers include it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import to_unit
from ..nets.weights import load_checkpoint
from ..nets.zoo import in_chunks, video_frames
from .registry import Method, register

INFERENCE_FRAMES = 64  # frames DeepLabV3 segments at once (a batch of 16 clips x 32 frames at 224 px does not fit)

VOC_PERSON = 15  # the person class of torchvision's segmentation models trained with VOC labels


def _pixels(video: torch.Tensor, mean, std) -> torch.Tensor:
    return to_unit(video, mean, std).clamp(0, 1)


class BackgroundMask(nn.Module):
    """(B, C, T, H, W) normalised clips -> (B, 1, T, H, W) person mask by temporal-median background subtraction."""

    def __init__(self, *, mean, std, threshold: float = 0.06, dilate: int = 1):
        super().__init__()
        self.mean, self.std, self.threshold, self.dilate = tuple(mean), tuple(std), threshold, dilate

    def forward(self, video):
        grey = _pixels(video, self.mean, self.std).mean(1, keepdim=True)  # (B, 1, T, H, W)
        moving = ((grey - grey.median(dim=2, keepdim=True).values).abs() > self.threshold).float()
        if self.dilate > 0:
            k = 2 * self.dilate + 1
            moving = F.max_pool3d(moving, (1, k, k), stride=1, padding=(0, self.dilate, self.dilate))
        return moving


class SegmentationMask(nn.Module):
    """Person pixels by torchvision's DeepLabV3-ResNet50 (COCO, VOC labels): (B, C, T, H, W) -> (B, 1, T, H, W)."""

    def __init__(self, weights="pretrained", *, mean, std):
        super().__init__()
        from torchvision.models.segmentation import deeplabv3_resnet50

        self.net = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True).eval()
        if weights != "none":
            self.net.load_state_dict(load_checkpoint("deeplabv3_resnet50", weights))
        self.mean, self.std = tuple(mean), tuple(std)
        self.register_buffer("im_mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("im_std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, video):
        b, _, t, h, w = video.shape
        frames = video_frames(_pixels(video, self.mean, self.std))
        person = in_chunks(lambda f: (self.net((f - self.im_mean) / self.im_std)["out"].argmax(1) == VOC_PERSON).float(),
                           frames, INFERENCE_FRAMES)  # (B*T, H, W)
        return person.view(b, t, 1, h, w).transpose(1, 2)


def fill_with_mean(video: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each frame's masked pixels -> the mean colour of that frame's masked region. video (B, C, T, H, W), mask
    (B, 1, T, H, W) in {0, 1}; frames without a masked pixel are unchanged."""
    area = mask.sum(dim=(-2, -1), keepdim=True)
    mean = (video * mask).sum(dim=(-2, -1), keepdim=True) / area.clamp(min=1)
    return video + mask * (mean - video)


class MaskingEncoder(nn.Module):
    """The masking baseline: (B, C, T, H, W) -> (B, C, T, H, W) with the person filled with its mean colour."""

    def __init__(self, mask: nn.Module):
        super().__init__()
        self.mask = mask.eval().requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.mask.eval()  # a fixed segmenter
        return self

    @torch.no_grad()
    def forward(self, video):
        if video.dim() != 5:
            raise ValueError(f"masking expects (B, C, T, H, W), got {tuple(video.shape)}")
        return fill_with_mean(video, self.mask(video))


def make_masking(cfg) -> MaskingEncoder:
    """The masking baseline as the config says (cfg.mask_model: deeplabv3 | background)."""
    if cfg.mask_model == "background":
        return MaskingEncoder(BackgroundMask(mean=cfg.mean, std=cfg.std, threshold=cfg.mask_threshold))
    if cfg.mask_model == "deeplabv3":
        return MaskingEncoder(SegmentationMask("none" if cfg.weights == "none" else cfg.weights, mean=cfg.mean,
                                               std=cfg.std))
    raise ValueError(f"mask_model must be 'deeplabv3' or 'background', got {cfg.mask_model!r}")


register(Method("masking", family="masking", colour="tab:gray", description="the person filled with the mean colour of the masked region "
                                                          "(SPPA's Table 2 baseline)",
                build=lambda run, alpha, arg: make_masking(run.cfg)))
