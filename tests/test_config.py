"""Config: Table I defaults, TOML loading, overrides, validation with one-line errors."""

import json
import subprocess
import sys

import pytest

from linksim.config import ConfigError, LinkConfig, build_config, load_config, parse_override


class TestDefaults:
    def test_table_one_values(self):
        cfg = build_config()
        assert cfg.altitude_m == 600e3 and cfg.carrier_hz == 2e9
        assert cfg.subcarrier_spacing_hz == 30e3 and cfg.bandwidth_hz == 20e6
        assert cfg.noise_figure_db == 7.0 and cfg.antenna_temperature_k == 290.0
        assert cfg.coverage_radius_m == 800e3 and cfg.num_sats == 5
        assert (cfg.num_planes, cfg.sats_per_plane, cfg.inclination_deg) == (28, 60, 53.0)
        assert cfg.tx_element_gain_dbi == 6.0 and cfg.rx_gain_dbi == 0.0

    def test_nr_numerology_derived(self):
        cfg = build_config()
        assert cfg.sample_rate_hz == pytest.approx(30.72e6)
        # T_sym = 1096 / 30.72 MHz = 35.677 us (math.md Sec. 11)
        assert cfg.symbol_duration_s == pytest.approx(1096 / 30.72e6, rel=1e-12)
        assert cfg.num_antennas == 256

    def test_horizon_radius_hand_computation(self):
        import math
        cfg = build_config({"min_elevation_deg": 0.0})
        r, h = 6371e3, 600e3
        assert cfg.horizon_radius_m == pytest.approx(r * math.acos(r / (r + h)), rel=1e-12)


class TestLoading:
    def test_toml_flat_and_grouped(self, tmp_path):
        f = tmp_path / "c.toml"
        f.write_text("num_users = 24\n[radio]\nantenna_size = [8, 4]\n")
        cfg = load_config(f)
        assert cfg.num_users == 24 and cfg.antenna_size == (8, 4) and cfg.num_antennas == 32

    def test_override_order(self, tmp_path):
        f = tmp_path / "c.toml"
        f.write_text("num_users = 24\n")
        cfg = load_config(f, overrides={"num_users": 48},
                          sets=["num_users=36", "kappa_model=fixed"])
        assert cfg.num_users == 48 and cfg.kappa_model == "fixed"

    def test_parse_override_value_types(self):
        assert parse_override("power_dbw=-3.5") == ("power_dbw", -3.5)
        assert parse_override("antenna_size=[4,4]") == ("antenna_size", [4, 4])
        assert parse_override("modulation=qpsk") == ("modulation", "qpsk")


@pytest.mark.parametrize("values, field", [
    ({"num_users": -3}, "num_users"),
    ({"num_users": 2.5}, "num_users"),
    ({"coverage_radius_m": 3e6}, "coverage_radius_m"),
    ({"coverage_radius_m": 0.0}, "coverage_radius_m"),
    ({"antenna_size": [16]}, "antenna_size"),
    ({"antenna_size": [0, 16]}, "antenna_size"),
    ({"antenna_size": [4.5, 4]}, "antenna_size"),
    ({"kappa_model": "rayleigh"}, "kappa_model"),
    ({"num_used_subcarriers": 2000}, "num_used_subcarriers"),
    ({"phase_error_var_rad2": float("nan")}, "phase_error_var_rad2"),
    ({"nonsense": 1}, "nonsense"),
    ({"fractional_delay_taps": 25}, "fractional_delay_taps"),
])
def test_invalid_values_name_the_field(values, field):
    with pytest.raises(ConfigError) as err:
        build_config(values)
    msg = str(err.value)
    assert field in msg and "\n" not in msg


def test_to_dict_round_trip():
    cfg = build_config({"antenna_size": [8, 8], "num_users": 20})
    assert build_config(cfg.to_dict()) == cfg
    assert isinstance(cfg, LinkConfig)


class TestCli:
    def run(self, *args):
        return subprocess.run([sys.executable, "-m", "linksim", *args],
                              capture_output=True, text=True)

    def test_show_json(self):
        p = self.run("config", "show", "--json", "--set", "num_users=24")
        assert p.returncode == 0
        assert json.loads(p.stdout)["num_users"] == 24

    @pytest.mark.parametrize("args", [
        ["config", "show", "--set", "num_users=-3"],
        ["config", "show", "--set", "antenna_size=[3]"],
        ["config", "show", "--config", "/nonexistent.toml"],
        ["config", "show", "--set", "bogus=1"],
        ["scenario", "--out", "/proc/no/such/dir/x.h5"],
        ["nosuchcommand"],
    ])
    def test_errors_exit_2_one_line(self, args):
        p = self.run(*args)
        assert p.returncode == 2
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("linksim: error:")
        assert "Traceback" not in p.stderr

    def test_help_imports_nothing_heavy(self):
        p = self.run("--help")
        assert p.returncode == 0 and "emulate" in p.stdout
        # heavy imports (numba, torch, matplotlib) stay out of --help
        code = ("import sys; from linksim.app.cli import cli; "
                "cli.main(['--help'], standalone_mode=False);"
                "print(sorted(m for m in ('numba','torch','matplotlib','h5py','scipy') "
                "if m in sys.modules))")
        q = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert q.stdout.strip().endswith("[]")


def test_every_subcommand_help_stays_light():
    """`linksim CMD --help` must answer at once: no heavy module at command import time."""
    from linksim.app.cli import COMMANDS

    code = ("import sys, importlib; from linksim.app.cli import COMMANDS\n"
            "for target, _ in COMMANDS.values():\n"
            "    importlib.import_module(target.split(':')[0])\n"
            "print(sorted(m for m in ('numba','torch','matplotlib','h5py','dask','distributed') "
            "if m in sys.modules))")
    q = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr
    assert q.stdout.strip() == "[]"
    for name in COMMANDS:
        p = subprocess.run([sys.executable, "-m", "linksim", name, "--help"],
                           capture_output=True, text=True)
        assert p.returncode == 0 and "Usage" in p.stdout, (name, p.stderr)
