"""The dense Transformer network (DTN) of Sec. IV, eqs. (51)-(61) (math.md Sec. 5.2-5.3).

Data flow (B drops of S satellites and K users, hidden size d):

    X_in  float [B, S, K, F]         features (eqs. 56-57, :mod:`precoders.dtn.features`)
    Z0 = FC_in(X_in)                 [B, S, K, d]
    Z  = DT_2^(N_b)(Z0)              [B, S, K, d]   N_b dense 2-D Transformers (eqs. 51-52, 58)
    z-bar_k = Inv_S(Z[:, :, k])      [B, K, d]      PMA over satellites (eq. 59)
    U_sat = FC_U(Z)                  complex [B, S, K]  (eq. 60)
    u_{k,0} = FC_0(z-bar_k)          complex [B, K]     (eq. 60, satellite-invariant entry)
    omega_k = sigmoid(FC_w(z-bar_k)) real (0, 1) [B, K] (eq. 61)

Every layer acts on the feature dimension only or attends along one of the S and K
dimensions with shared weights, so the parameter count is O(N_b d^2) and independent of S, K
and N_t, the outputs are permutation-equivariant in users (eq. 49) and U_sat is
satellite-equivariant while u_{k,0} and omega are satellite-invariant (eq. 50).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from precoders.dtn.features import FEATURE_VERSION, NUM_FEATURES


@dataclass(frozen=True)
class DTNConfig:
    """Architecture hyper-parameters (stored in every checkpoint).

    num_features : F of X_in; hidden : d; num_blocks : N_b; num_heads : attention heads
    (d must be a multiple); ffn_mult : FFN hidden size = ffn_mult * d; dyt_alpha0 : the
    initial alpha of DyT (eq. 55); feature_version : the features the model was trained on.
    """

    num_features: int = NUM_FEATURES
    hidden: int = 64
    num_blocks: int = 2
    num_heads: int = 4
    ffn_mult: int = 2
    dyt_alpha0: float = 0.5
    feature_version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.num_blocks < 1 or self.num_heads < 1 or self.ffn_mult < 1:
            raise ValueError("hidden, num_blocks, num_heads and ffn_mult must be >= 1")
        if self.hidden % self.num_heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of num_heads "
                             f"({self.num_heads})")

    def to_dict(self) -> dict:
        return asdict(self)


#: Named sizes: ``small`` trains on a 2-core CPU in minutes; ``paper`` is a paper-scale net.
SIZES: dict[str, DTNConfig] = {
    "small": DTNConfig(hidden=64, num_blocks=2, num_heads=4, ffn_mult=2),
    "paper": DTNConfig(hidden=128, num_blocks=4, num_heads=8, ffn_mult=4),
}


class DyT(nn.Module):
    """Dynamic tanh, eq. (55): DyT(x) = gamma * tanh(alpha x) + beta (element-wise).

    alpha : scalar, initialised to ``alpha0`` (0.5); gamma = 1, beta = 0 in R^d at init.
    Input and output float [..., d].
    """

    def __init__(self, dim: int, alpha0: float = 0.5):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(alpha0)))
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * torch.tanh(self.alpha * x) + self.beta


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention, queries [N, Lq, d], keys/values [N, L, d]."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        n, lq, d = query.shape
        h = self.num_heads
        q = self.q(query).view(n, lq, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(n, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(n, lq, d))


class FeedForward(nn.Module):
    """FFN of eq. (54): FC(d -> ffn_mult d), GELU, FC(-> d)."""

    def __init__(self, dim: int, mult: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TransformerBlock(nn.Module):
    """Pre-norm Transformer block with DyT, eqs. (53)-(54), along dim -2 of [N, L, d].

    Y = Z + MHA(DyT(Z)),  T(Z) = Y + FFN(DyT(Y)).
    """

    def __init__(self, cfg: DTNConfig):
        super().__init__()
        self.norm1 = DyT(cfg.hidden, cfg.dyt_alpha0)
        self.attn = MultiHeadAttention(cfg.hidden, cfg.num_heads)
        self.norm2 = DyT(cfg.hidden, cfg.dyt_alpha0)
        self.ffn = FeedForward(cfg.hidden, cfg.ffn_mult)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        a = self.norm1(z)
        y = z + self.attn(a, a)
        return y + self.ffn(self.norm2(y))


class DenseTransformer2D(nn.Module):
    """DT_2, eqs. (51)-(52): a block over satellites, then over users, dense concat + FC.

    X_1 = T_sat(X_0) (sequence = the S satellites, (B, K) as batch), X_2 = T_user(X_1)
    (sequence = the K users, (B, S) as batch), DT_2(X_0) = FC(cat(X_0, X_1, X_2)).
    Input and output float [B, S, K, d].
    """

    def __init__(self, cfg: DTNConfig):
        super().__init__()
        self.sat_block = TransformerBlock(cfg)
        self.user_block = TransformerBlock(cfg)
        self.fc = nn.Linear(3 * cfg.hidden, cfg.hidden)

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        b, s, k, d = x0.shape
        x1 = self.sat_block(x0.transpose(1, 2).reshape(b * k, s, d))
        x1 = x1.view(b, k, s, d).transpose(1, 2)
        x2 = self.user_block(x1.reshape(b * s, k, d)).view(b, s, k, d)
        return self.fc(torch.cat((x0, x1, x2), dim=-1))


class SatelliteInvariant(nn.Module):
    """Inv_S of eq. (59): pooling by multi-head attention (PMA, Set Transformer [44]).

    A learnable seed query attends over the S satellites of each user:
    h_k = q + MHA(q, DyT(Z[:, :, k])), z-bar_k = h_k + FFN(DyT(h_k)).
    Input float [B, S, K, d]; output float [B, K, d], invariant to permuting S.
    """

    def __init__(self, cfg: DTNConfig):
        super().__init__()
        self.seed = nn.Parameter(torch.randn(1, 1, cfg.hidden) * cfg.hidden ** -0.5)
        self.norm1 = DyT(cfg.hidden, cfg.dyt_alpha0)
        self.attn = MultiHeadAttention(cfg.hidden, cfg.num_heads)
        self.norm2 = DyT(cfg.hidden, cfg.dyt_alpha0)
        self.ffn = FeedForward(cfg.hidden, cfg.ffn_mult)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        b, s, k, d = z.shape
        ctx = self.norm1(z.transpose(1, 2).reshape(b * k, s, d))
        q = self.seed.expand(b * k, 1, d)
        h = q + self.attn(q, ctx)
        h = h + self.ffn(self.norm2(h))
        return h.view(b, k, d)


@dataclass
class DTNOutput:
    """Network outputs for a batch of B drops.

    U : complex [B, K, S+1]  virtual receivers; U[:, k, 0] = u_{k,0} (paired with m_k, eq. 35),
                             U[:, k, 1 + s] = the satellite-s entry (eq. 60)
    omega : real [B, K]      MSE weights in (0, 1) (eq. 61)
    """

    U: torch.Tensor
    omega: torch.Tensor
    extra: dict = field(default_factory=dict)


class DTN(nn.Module):
    """MS-JoCDWM-DL network, eqs. (56)-(61) (Algorithm 2, steps 3-5).

    forward(x): x float [B, S, K, F] -> :class:`DTNOutput` (U complex [B, K, S+1], omega [B, K]).
    """

    def __init__(self, cfg: DTNConfig | None = None):
        super().__init__()
        self.cfg = cfg or DTNConfig()
        d = self.cfg.hidden
        self.fc_in = nn.Linear(self.cfg.num_features, d)
        self.blocks = nn.ModuleList(DenseTransformer2D(self.cfg)
                                    for _ in range(self.cfg.num_blocks))
        self.norm_out = DyT(d, self.cfg.dyt_alpha0)
        self.inv = SatelliteInvariant(self.cfg)
        self.fc_u_sat = nn.Linear(d, 2)
        self.fc_u0 = nn.Linear(d, 2)
        self.fc_omega = nn.Linear(d, 1)

    def forward(self, x: torch.Tensor) -> DTNOutput:
        if x.ndim != 4 or x.shape[-1] != self.cfg.num_features:
            raise ValueError(f"x must be [B, S, K, {self.cfg.num_features}] (got {tuple(x.shape)})")
        z = self.fc_in(x)
        for block in self.blocks:
            z = block(z)
        z = self.norm_out(z)
        zbar = self.inv(z)
        u_sat = self.fc_u_sat(z)                                # [B, S, K, 2]
        u_sat = torch.complex(u_sat[..., 0], u_sat[..., 1]).transpose(1, 2)   # [B, K, S]
        u0 = self.fc_u0(zbar)                                   # [B, K, 2]
        u0 = torch.complex(u0[..., 0], u0[..., 1]).unsqueeze(-1)              # [B, K, 1]
        omega = torch.sigmoid(self.fc_omega(zbar)).squeeze(-1)  # [B, K]
        return DTNOutput(U=torch.cat((u0, u_sat), dim=-1), omega=omega)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def default_device(device: str | None = None) -> torch.device:
    """``device`` if given, else CUDA when available, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
