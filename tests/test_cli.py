"The installed `sscl` console script: help, version, unknown commands."
import shutil, subprocess, sys
from configparser import ConfigParser
from pathlib import Path
from conftest import ROOT

def sscl(*args):
    exe = shutil.which('sscl', path=str(Path(sys.executable).parent)) or shutil.which('sscl')
    assert exe, 'the console script `sscl` is not installed: run the README install command'
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)

def test_help_lists_commands():
    r = sscl('--help')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage: sscl') and 'info' in r.stdout

def test_version_matches_settings():
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    r = sscl('--version')
    assert r.returncode == 0 and r.stdout.strip() == f"sscl {cfg['DEFAULT']['version']}"

def test_unknown_command_prints_usage_and_fails():
    r = sscl('frobnicate')
    assert r.returncode == 2
    assert 'usage: sscl' in r.stderr and "unknown command 'frobnicate'" in r.stderr

def test_no_command_fails():
    r = sscl()
    assert r.returncode == 2 and 'a command is required' in r.stderr

def test_info_reports_the_real_torch():
    import torch
    r = sscl('info')
    assert r.returncode == 0, r.stderr
    assert f'torch: {torch.__version__}' in r.stdout
