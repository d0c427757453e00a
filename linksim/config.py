"""Simulation configuration: every parameter of Table I plus our documented choices.

Defaults equal the paper where the paper gives a number (Table I, Sec. V) and are marked
``choice=True`` where the paper leaves the value open (our choice; docs/model.md
lists them). Every field carries its unit in its name. A config is loaded from defaults, then
an optional TOML file, then ``--set name=value`` overrides, and validated as a whole:
an invalid value raises :class:`ConfigError` with a one-line message that names the field and
its allowed range.

TOML files may be flat (``num_users = 24``) or grouped in tables named after the field groups
(``[scenario]``, ``[radio]``, ...; see ``linksim config show``); table names are only for
readability, but an unknown table, a nested table or a field given twice (in two tables, or
flat and in a table) is an error.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linksim.constants import EARTH_RADIUS_M


class ConfigError(ValueError):
    """A user-facing configuration error; its message is one line naming the field."""


def _f(default, lo=None, hi=None, *, group: str, help: str, choice: bool = False,
       lo_open: bool = False, kind: type | None = None):
    meta = {"lo": lo, "hi": hi, "group": group, "help": help, "choice": choice,
            "lo_open": lo_open, "kind": kind}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda d=tuple(default): d, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class LinkConfig:
    """The effective configuration of one run (Table I of the paper and our choices)."""

    # --- constellation (Table I) ---
    altitude_m: float = _f(600e3, 150e3, 2_000e3, group="constellation",
                           help="orbit altitude of the Walker-Delta shell")
    num_planes: int = _f(28, 1, 1000, group="constellation", help="orbital planes")
    sats_per_plane: int = _f(60, 1, 1000, group="constellation", help="satellites per plane")
    inclination_deg: float = _f(53.0, 0.0, 180.0, group="constellation", help="inclination")
    walker_phasing: int = _f(1, 0, 999, group="constellation", choice=True,
                             help="Walker phasing factor F (relative in-plane offset)")
    min_elevation_deg: float = _f(10.0, 0.0, 89.0, group="constellation", choice=True,
                                  help="minimum elevation of a serving satellite at every user")

    # --- radio (Table I, NR numerology) ---
    carrier_hz: float = _f(2e9, 1e8, 1e11, group="radio", help="carrier frequency")
    bandwidth_hz: float = _f(20e6, 1e5, 1e9, group="radio", help="system bandwidth (DL)")
    subcarrier_spacing_hz: float = _f(30e3, 1e3, 1e6, group="radio", help="subcarrier spacing")
    fft_size: int = _f(1024, 16, 65536, group="radio", choice=True, help="FFT size N")
    cyclic_prefix_length: int = _f(72, 0, 65535, group="radio", choice=True,
                                   help="CP length in samples (normal CP)")
    num_used_subcarriers: int = _f(612, 1, 65536, group="radio", choice=True,
                                   help="used subcarriers (51 PRBs at 20 MHz / 30 kHz)")
    noise_figure_db: float = _f(7.0, 0.0, 30.0, group="radio", help="UT noise figure")
    antenna_temperature_k: float = _f(290.0, 1.0, 5000.0, group="radio",
                                      help="UT antenna temperature")
    tx_element_gain_dbi: float = _f(6.0, -20.0, 40.0, group="radio",
                                    help="per-element satellite antenna gain")
    rx_gain_dbi: float = _f(0.0, -20.0, 40.0, group="radio", help="UT antenna gain")
    antenna_size: tuple[int, int] = _f((16, 16), 1, 64, group="radio", choice=True,
                                       help="satellite UPA size (N_x, N_y); N_t = N_x * N_y")

    # --- scenario (Table I) ---
    coverage_radius_m: float = _f(800e3, 0.0, None, group="scenario", lo_open=True,
                                  help="radius of the cooperative coverage disc")
    num_users: int = _f(12, 1, 1024, group="scenario", help="users K")
    num_sats: int = _f(5, 1, 64, group="scenario", help="cooperating satellites S")

    # --- channel: Rician factor (QuaDRiGa NTN Urban LOS, math.md Sec. 11) ---
    kappa_model: str = _f("ntn-urban-los", group="channel", choice=True,
                          help="'ntn-urban-los' (elevation-dependent) or 'fixed' (kappa_db)")
    kappa_db: float = _f(25.0, -30.0, 80.0, group="channel", choice=True,
                         help="Rician factor when kappa_model = 'fixed'")
    kappa_spread_db: float = _f(0.0, 0.0, 20.0, group="channel", choice=True,
                                help="log-normal spread of kappa per link (0 = the mean)")
    channel_profile: str = _f("flat", group="channel", choice=True,
                              help="'flat' (one Rician path, the paper) or a TR 38.811 "
                                   "NTN-TDL profile 'ntn-tdl-a'..'ntn-tdl-d'")
    delay_spread_s: float = _f(1e-7, 0.0, 1e-4, group="channel", choice=True,
                               help="RMS delay spread scaling the NTN-TDL delays "
                                    "(TR 38.901 7.7.3)")
    ue_speed_mps: float = _f(0.0, 0.0, 500.0, group="channel", choice=True,
                             help="user speed: Doppler spread f_D = v/lambda of the NLOS taps")
    multipath_kappa: str = _f("scsi", group="channel", choice=True,
                              help="LOS tap power: 'scsi' (kappa/(kappa+1) of the sCSI kappa, "
                                   "NLOS power over the taps) or 'table' (the profile's K)")
    doppler_sinusoids: int = _f(16, 1, 1024, group="channel", choice=True,
                                help="sinusoids (paths) per NLOS tap when ue_speed_mps > 0")
    selective_window_subcarriers: int = _f(2, 0, 1000, group="channel", choice=True,
                                           help="half-width of the subcarrier window of the "
                                                "per-subcarrier else-power (non-flat profiles)")

    # --- compensation errors (Sec. II-B, V) ---
    phase_error_var_rad2: float = _f(0.5, 0.0, 20.0, group="errors", choice=True,
                                     help="variance of the carrier phase error theta")
    doppler_error_std_hz: float = _f(5.0, 0.0, 1e5, group="errors", choice=True,
                                     help="std of the residual Doppler after precompensation")
    timing_backoff_samples: int = _f(36, 0, 65535, group="errors", choice=True,
                                     help="receiver FFT window start before the CP end "
                                          "(N_cp/2: symmetric margins)")

    # --- transmit power (Sec. V) ---
    power_dbw: float = _f(-10.0, -100.0, 60.0, group="power", choice=True,
                          help="per-satellite transmit power per subcarrier")
    power_levels_dbw: tuple[float, ...] = _f((-30.0, -25.0, -20.0, -15.0, -10.0, -5.0, 0.0),
                                             -100.0, 60.0, group="power", choice=True,
                                             help="the seven power levels (sweeps, DTN data)")

    # --- algorithm 1 ---
    max_iterations: int = _f(100, 1, 100_000, group="algorithm", choice=True,
                             help="I_max of Algorithm 1")
    rate_threshold: float = _f(1e-4, 0.0, 1e3, group="algorithm", choice=True,
                               help="stop when the sum rate changes by less (bit/s/Hz)")
    w_step: str = _f("exact", group="algorithm", choice=True,
                     help="W-step of the WMMSE methods: 'exact' multipliers (monotone) or "
                          "'paper' ((43)-(44) + scaling)")

    # --- waveform emulation ---
    fractional_delay_taps: int = _f(24, 2, 512, group="emulation", choice=True,
                                    help="taps of the windowed-sinc fractional-delay FIR (even)")
    num_observed_symbols: int = _f(14, 1, 100_000, group="emulation", choice=True,
                                   help="OFDM symbols observed per user and drop")
    modulation: str = _f("gaussian", group="emulation", choice=True,
                         help="'qpsk', '16qam', '64qam' or 'gaussian' data symbols")
    backend: str = _f("numba", group="emulation", choice=True,
                      help="waveform kernel set: 'numba' (compiled), 'numpy' (references), "
                           "'fast' (fused FFT, GEMM combine) or 'torch' (PyTorch)")
    precision: str = _f("double", group="emulation", choice=True,
                        help="waveform samples: 'double' (complex128) or 'single' (complex64; "
                             "geometry, delays, times and phases stay float64)")
    receiver: str = _f("genie", group="emulation", choice=True,
                       help="receiver of the rates: 'genie' (desired component known), "
                            "'dmrs-ls' or 'dmrs-lmmse' (channel estimated from DMRS pilots)")
    dmrs_symbols: tuple[int, ...] = _f((2, 11), 0, 13, group="emulation", choice=True,
                                       help="DMRS symbols of the 14-symbol slot (receiver != "
                                            "genie; type 1, comb 2)")
    dmrs_pdp: str = _f("exponential", group="emulation", choice=True,
                       help="power delay profile dmrs-lmmse assumes: 'exponential' or 'flat'")
    dmrs_delay_spread_s: float = _f(100e-9, 0.0, 1e-5, group="emulation", choice=True,
                                    help="rms delay spread dmrs-lmmse assumes")
    data_stream: str = _f("joint", group="emulation", choice=True,
                          help="data symbols: 'joint' (one stream for all users, then the "
                               "noise), 'per-user' (a child stream per user, drawn on all "
                               "cores; other numbers than 'joint') or 'counter' (counter-based "
                               "Philox per user and burst symbol, all cores; other "
                               "numbers)")
    noise_stream: str = _f("joint", group="emulation", choice=True,
                           help="receiver noise: 'joint' (drawn after the data from the data "
                                "stream) or 'counter' (counter-based Philox + ziggurat per "
                                "user; other numbers)")

    # --- moving satellites (docs/model.md "Moving satellites") ---
    geometry_mode: str = _f("static", group="motion", choice=True,
                            help="'static' (one delay and Doppler per link, the paper) or "
                                 "'orbit' (tau(t) from the orbit with light time)")
    error_model: str = _f("drawn", group="motion", choice=True,
                          help="'drawn' compensation errors (the paper) or 'geometric' "
                               "(tracking prediction; needs geometry_mode = 'orbit')")
    ue_position_error_m: float = _f(0.0, 0.0, 1e5, group="motion", choice=True,
                                    help="std per axis of the user position estimate "
                                         "(geometric error model)")
    precomp_update_interval_s: float = _f(5e-4, 1e-5, 100.0, group="motion", choice=True,
                                          help="refresh interval of the tracking prediction "
                                               "(geometric error model)")
    precomp_predictor: str = _f("linear", group="motion", choice=True,
                                help="tracking predictor: 'hold', 'linear' or 'quadratic'")
    scsi_age_s: float = _f(0.0, 0.0, 3600.0, group="motion", choice=True,
                           help="age of the sCSI: design at t0, emulate at t0 + age")

    # ----------------------------------------------------------------- derived
    @property
    def num_antennas(self) -> int:
        """N_t = N_x * N_y."""
        return int(self.antenna_size[0]) * int(self.antenna_size[1])

    @property
    def sample_rate_hz(self) -> float:
        """Sampling rate 1/T_s = N * Delta f."""
        return self.fft_size * self.subcarrier_spacing_hz

    @property
    def symbol_duration_s(self) -> float:
        """T_sym = (N + N_cp) T_s, the OFDM symbol with its CP."""
        return (self.fft_size + self.cyclic_prefix_length) / self.sample_rate_hz

    @property
    def wavelength_m(self) -> float:
        from linksim.constants import SPEED_OF_LIGHT_M_S
        return SPEED_OF_LIGHT_M_S / self.carrier_hz

    @property
    def horizon_radius_m(self) -> float:
        """Ground radius (arc) seen from the satellite at the minimum elevation."""
        r = EARTH_RADIUS_M
        el = math.radians(self.min_elevation_deg)
        central = math.acos(r * math.cos(el) / (r + self.altitude_m)) - el
        return r * central

    # ----------------------------------------------------------------- io
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    def replace(self, **changes: Any) -> "LinkConfig":
        """A validated copy with some fields changed."""
        return build_config(self.to_dict() | changes)


FIELDS = {f.name: f for f in dataclasses.fields(LinkConfig)}
_CHOICES = {"kappa_model": ("ntn-urban-los", "fixed"),
            "modulation": ("qpsk", "16qam", "64qam", "gaussian"),
            "w_step": ("exact", "paper"),
            "channel_profile": ("flat", "ntn-tdl-a", "ntn-tdl-b", "ntn-tdl-c", "ntn-tdl-d"),
            "multipath_kappa": ("scsi", "table"),
            # the kernel sets of waveforms.kernels (a test keeps the two lists equal)
            "backend": ("numba", "numpy", "fast", "torch"),
            "precision": ("double", "single"),
            "receiver": ("genie", "dmrs-ls", "dmrs-lmmse"),
            "data_stream": ("joint", "per-user", "counter"),
            "noise_stream": ("joint", "counter"),
            "dmrs_pdp": ("exponential", "flat"),
            "geometry_mode": ("static", "orbit"),
            "error_model": ("drawn", "geometric"),
            "precomp_predictor": ("hold", "linear", "quadratic")}


def _range_text(f: dataclasses.Field) -> str:
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    left = "(" if f.metadata["lo_open"] else "["
    return f"{left}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"


def _coerce(name: str, value: Any) -> Any:
    f = FIELDS[name]
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if name in _CHOICES:
        if not isinstance(value, str) or value not in _CHOICES[name]:
            raise ConfigError(f"{name} must be one of {', '.join(_CHOICES[name])} (got {value!r})")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or len(value) == 0:
            raise ConfigError(f"{name} must be a list, e.g. {list(default)} (got {value!r})")
        elem_int = isinstance(default[0], int)
        if name == "antenna_size" and len(value) != 2:
            raise ConfigError(f"antenna_size must be a pair of positive integers [N_x, N_y] "
                              f"in {_range_text(f)} (got {value!r})")
        out = tuple(_scalar(name, v, int if elem_int else float, f) for v in value)
        if name == "power_levels_dbw" and len(set(out)) != len(out):
            raise ConfigError(f"power_levels_dbw lists a value twice (got {list(out)})")
        return out
    return _scalar(name, value, type(default), f)


def _scalar(name: str, value: Any, kind: type, f: dataclasses.Field) -> Any:
    rng = _range_text(f)
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number in {rng} (got {value!r})")
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer in {rng} (got {value!r})")
    else:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number in {rng} (got {value!r})")
        value = float(value)
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    if (lo is not None and (value < lo or (f.metadata["lo_open"] and value <= lo))) or (
            hi is not None and value > hi):
        raise ConfigError(f"{name} must be in {rng} (got {value})")
    return value


def _flatten(data: dict[str, Any], source: str) -> dict[str, Any]:
    groups = sorted({f.metadata["group"] for f in FIELDS.values()})
    flat: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in groups:
                raise ConfigError(f"unknown table [{key}] in {source} (tables: "
                                  f"{', '.join(groups)}; or give the fields flat)")
            items = [(k2, v2, f"[{key}]") for k2, v2 in value.items()]
        else:
            items = [(key, value, "the top level")]
        for k2, v2, place in items:
            if isinstance(v2, dict):
                raise ConfigError(f"nested table {key}.{k2} in {source}: tables hold "
                                  "fields only")
            if k2 in flat:
                raise ConfigError(f"config field {k2!r} given twice in {source} "
                                  f"({where[k2]} and {place})")
            flat[k2] = v2
            where[k2] = place
    unknown = sorted(set(flat) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown config field {unknown[0]!r} in {source} "
                          f"(see 'linksim config show' for the fields)")
    return flat


def _check_consistency(cfg: LinkConfig) -> None:
    if cfg.num_used_subcarriers > cfg.fft_size:
        raise ConfigError(f"num_used_subcarriers must be in [1, fft_size={cfg.fft_size}] "
                          f"(got {cfg.num_used_subcarriers})")
    if cfg.cyclic_prefix_length >= cfg.fft_size:
        raise ConfigError(f"cyclic_prefix_length must be in [0, fft_size-1={cfg.fft_size - 1}] "
                          f"(got {cfg.cyclic_prefix_length})")
    if cfg.timing_backoff_samples > cfg.cyclic_prefix_length:
        raise ConfigError(f"timing_backoff_samples must be in [0, cyclic_prefix_length="
                          f"{cfg.cyclic_prefix_length}] (got {cfg.timing_backoff_samples})")
    used_bw = cfg.num_used_subcarriers * cfg.subcarrier_spacing_hz
    if used_bw > cfg.bandwidth_hz * (1 + 1e-9):
        raise ConfigError(f"num_used_subcarriers must be in [1, bandwidth_hz/subcarrier_spacing_hz"
                          f"={int(cfg.bandwidth_hz // cfg.subcarrier_spacing_hz)}] "
                          f"(got {cfg.num_used_subcarriers})")
    horizon = cfg.horizon_radius_m
    if cfg.coverage_radius_m > horizon:
        raise ConfigError(f"coverage_radius_m must be in (0, {horizon:.0f}] (the horizon at "
                          f"min_elevation_deg={cfg.min_elevation_deg}) "
                          f"(got {cfg.coverage_radius_m:.0f})")
    if cfg.fractional_delay_taps % 2:
        raise ConfigError(f"fractional_delay_taps must be an even integer in [2, 512] "
                          f"(got {cfg.fractional_delay_taps})")
    if len(set(cfg.dmrs_symbols)) != len(cfg.dmrs_symbols):
        raise ConfigError(f"dmrs_symbols must be distinct slot symbols in [0, 13] "
                          f"(got {list(cfg.dmrs_symbols)})")
    if cfg.receiver != "genie" and cfg.num_observed_symbols <= min(cfg.dmrs_symbols):
        raise ConfigError(f"num_observed_symbols must be in [{min(cfg.dmrs_symbols) + 1}, "
                          f"100000] to observe a DMRS symbol with receiver={cfg.receiver} "
                          f"(got {cfg.num_observed_symbols})")
    if cfg.error_model == "geometric" and cfg.geometry_mode != "orbit":
        raise ConfigError("error_model must be 'drawn' when geometry_mode = 'static' "
                          "('geometric' needs geometry_mode = 'orbit')")
    total = cfg.num_planes * cfg.sats_per_plane
    if cfg.num_sats > total:
        raise ConfigError(f"num_sats must be in [1, {total}] (got {cfg.num_sats})")
    if cfg.walker_phasing >= cfg.num_planes:
        raise ConfigError(f"walker_phasing must be in [0, num_planes-1={cfg.num_planes - 1}] "
                          f"(got {cfg.walker_phasing})")


def build_config(values: dict[str, Any] | None = None) -> LinkConfig:
    """Validate ``values`` (field -> value, defaults for the rest) into a :class:`LinkConfig`."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown config field {unknown[0]!r} "
                          f"(see 'linksim config show' for the fields)")
    coerced = {k: _coerce(k, v) for k, v in values.items()}
    cfg = LinkConfig(**coerced)
    _check_consistency(cfg)
    return cfg


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``name=value`` override; the value uses TOML syntax (bare words are strings)."""
    if "=" not in text:
        raise ConfigError(f"--set expects name=value (got {text!r})")
    name, raw = (s.strip() for s in text.split("=", 1))
    if name not in FIELDS:
        raise ConfigError(f"unknown config field {name!r} in --set "
                          f"(see 'linksim config show' for the fields)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return name, value


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                sets: list[str] | tuple[str, ...] = ()) -> LinkConfig:
    """Defaults <- TOML file ``path`` <- ``sets`` (``name=value``) <- ``overrides``."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"--config file not found: {p}") from None
        except OSError as exc:
            raise ConfigError(f"--config file {p} cannot be read: "
                              f"{exc.strerror or exc}") from None
        if b"\0" in raw[:65536] or len(raw) > 1_000_000:
            raise ConfigError(f"--config file {p} is not a TOML text file (binary data or "
                              "over 1 MB)")
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"--config file {p} is not a TOML text file (not UTF-8)") \
                from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"--config file {p} is not valid TOML: "
                              f"{' '.join(str(exc).split())}") from None
        values |= _flatten(data, str(p))
    for s in sets:
        k, v = parse_override(s)
        values[k] = v
    values |= {k: v for k, v in (overrides or {}).items() if v is not None}
    return build_config(values)


def describe_fields() -> list[dict[str, Any]]:
    """Field descriptions for ``linksim config show`` and docs."""
    out = []
    for f in dataclasses.fields(LinkConfig):
        out.append({"name": f.name, "group": f.metadata["group"], "help": f.metadata["help"],
                    "range": _range_text(f) if f.name not in _CHOICES else
                    "|".join(_CHOICES[f.name]), "choice": f.metadata["choice"]})
    return out
