"""3D CNNs over the whole clip: C3D (Tran et al. 2015) and torchvision's
R3D-18 and R(2+1)D-18."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import video as tvv

from workers.dfer.models.base import ClipEncoder


class Video3D(ClipEncoder):
    """Wraps a network that takes (B, C, T, H, W)."""

    def __init__(self, net: nn.Module, dim: int):
        super().__init__()
        self.net = net
        self.out_dim = dim

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.net(clip.transpose(1, 2))


def r3d_18() -> Video3D:
    net = tvv.r3d_18(weights=None)
    net.fc = nn.Identity()
    return Video3D(net, 512)


def r2plus1d_18() -> Video3D:
    net = tvv.r2plus1d_18(weights=None)
    net.fc = nn.Identity()
    return Video3D(net, 512)


class C3DNet(nn.Module):
    """C3D as published: 8 convs (3×3×3), 5 pools, fc6/fc7 of 4096.

    At 16×112×112 pool5 gives 512×1×4×4 = 8192 features, as in the paper; the
    adaptive pool only matters for other sizes. Temporal pooling stops once a
    clip is down to one step, so short clips work too.
    """

    widths = ((64,), (128,), (256, 256), (512, 512), (512, 512))

    def __init__(self) -> None:
        super().__init__()
        blocks, cin = [], 3
        for group in self.widths:
            layers = []
            for cout in group:
                layers += [nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]
                cin = cout
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(8192, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                nn.Linear(4096, 4096), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x)
            kt = 1 if i == 0 or x.shape[2] == 1 else 2  # pool1 keeps time, as in the paper
            pad = (0, 1, 1) if i == len(self.blocks) - 1 else 0
            x = F.max_pool3d(x, (kt, 2, 2), (kt, 2, 2), padding=pad)
        return self.fc(F.adaptive_avg_pool3d(x, (1, 4, 4)))


def c3d() -> Video3D:
    return Video3D(C3DNet(), 4096)
