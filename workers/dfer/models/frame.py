"""Frame CNNs (each frame alone, features averaged over time) and CNN+LSTM."""
from __future__ import annotations

import torch
from torch import nn
from torchvision import models as tvm
from torchvision.models import vgg as tvm_vgg

from workers.dfer.models.base import ClipEncoder


def resnet18_trunk() -> tuple[nn.Module, int]:
    net = tvm.resnet18(weights=None)
    net.fc = nn.Identity()
    return net, 512


def vgg13_trunk() -> tuple[nn.Module, int]:
    # VGG-13 with batch norm: trained from scratch, plain VGG barely converges.
    # Global pooling instead of the 4096-wide classifier keeps it at 9 M weights
    # and makes it work on any frame size. Only the convolutional part is
    # built: initialising the unused 120 M classifier weights took a second.
    net = tvm_vgg.make_layers(tvm_vgg.cfgs["B"], batch_norm=True)
    for m in net.modules():  # torchvision's VGG initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return nn.Sequential(net, nn.AdaptiveAvgPool2d(1), nn.Flatten()), 512


class FrameMean(ClipEncoder):
    def __init__(self, trunk: nn.Module, dim: int):
        super().__init__()
        self.trunk = trunk
        self.out_dim = dim

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        b, t = clip.shape[:2]
        return self.trunk(clip.flatten(0, 1)).view(b, t, -1).mean(dim=1)


class FrameLSTM(ClipEncoder):
    """Per-frame CNN features → one LSTM layer → the last hidden state."""

    def __init__(self, trunk: nn.Module, dim: int, hidden: int = 512):
        super().__init__()
        self.trunk = trunk
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.out_dim = hidden

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        b, t = clip.shape[:2]
        feats = self.trunk(clip.flatten(0, 1)).view(b, t, -1)
        _, (h, _) = self.lstm(feats)
        return h[-1]
