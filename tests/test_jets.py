"""Jets: JetClass's on-disk format read back through the data module, and physics of Pythia 8 + FastJet jets that
can be wrong. The files here are written with uproot directly (not with sscl's writer), and every expected number
is computed from the four-vectors with plain Python, not with `sscl.jets.particle_inputs`."""
import math, os
from pathlib import Path
import numpy as np
import pytest
import torch

uproot = pytest.importorskip('uproot', reason='pip install "sscl[jets]"')
ak = pytest.importorskip('awkward', reason='pip install "sscl[jets]"')
from sscl.jets import (JetClassDataModule, generate_jetclass, read_jetclass, JETCLASS_PROCESSES, PARTICLE_BRANCHES, JET_BRANCHES,
                       LABEL_BRANCHES)

CLASSES = ['qcd', 'wqq', 'zqq', 'ttbar', 'hbb']


def random_jets(n, rng):
    "Per-jet lists of particle dicts with physical four-vectors (massless, around a jet axis)."
    jets = []
    for _ in range(n):
        k = int(rng.integers(1, 80))
        eta0, phi0 = rng.uniform(-2, 2), rng.uniform(-math.pi, math.pi)
        parts = []
        for _ in range(k):
            pt, eta, phi = rng.exponential(20) + 0.5, eta0 + rng.normal(0, 0.3), phi0 + rng.normal(0, 0.3)
            parts.append(dict(px=pt * math.cos(phi), py=pt * math.sin(phi), pz=pt * math.sinh(eta),
                              energy=pt * math.cosh(eta), deta=eta - eta0, dphi=rng.normal(0, 0.3),
                              d0val=rng.normal(0, 2), d0err=rng.uniform(0, 2), dzval=rng.normal(0, 2),
                              dzerr=rng.uniform(0, 2), charge=float(rng.integers(-1, 2)), flag=int(rng.integers(0, 5))))
        px, py = sum(p['px'] for p in parts), sum(p['py'] for p in parts)
        jets.append(dict(parts=parts, pt=math.hypot(px, py), energy=sum(p['energy'] for p in parts), eta=eta0, phi=phi0))
    return jets


def write_jetclass_file(path, jets, label, label_dtype=np.float32):
    "One file in JetClass's layout: tree `tree`, std::vector<float> particle branches, float jet branches."
    flags = ['part_isChargedHadron', 'part_isNeutralHadron', 'part_isPhoton', 'part_isElectron', 'part_isMuon']
    typed = lambda rows: ak.Array(rows or [[0.0]])[:len(rows)]  # an empty file still has float lists
    col = lambda f: ak.values_astype(typed([[f(p) for p in j['parts']] for j in jets]), np.float32)
    out = {f'part_{k}': col(lambda p, k=k: p[k]) for k in ['px', 'py', 'pz', 'energy', 'deta', 'dphi', 'd0val',
                                                            'd0err', 'dzval', 'dzerr', 'charge']}
    out.update({name: col(lambda p, i=i: float(p['flag'] == i)) for i, name in enumerate(flags)})
    n = len(jets)
    out.update(jet_pt=np.array([j['pt'] for j in jets], np.float32), jet_eta=np.array([j['eta'] for j in jets], np.float32),
               jet_phi=np.array([j['phi'] for j in jets], np.float32),
               jet_energy=np.array([j['energy'] for j in jets], np.float32),
               jet_nparticles=np.array([len(j['parts']) for j in jets], np.float32))
    out.update({b: np.ones(n, np.float32) for b in ['jet_sdmass', 'jet_tau1', 'jet_tau2', 'jet_tau3', 'jet_tau4']})
    out.update({b: np.full(n, b == label).astype(label_dtype) for b in LABEL_BRANCHES})
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as f: f['tree'] = out
    return path


def expected_row(p, jet):
    "The 17 inputs of one particle, written out from weaver's JetClass config."
    clip = lambda v: min(5.0, max(-5.0, v))
    pt = math.hypot(p['px'], p['py'])
    return [clip((math.log(pt) - 1.7) * 0.7), clip((math.log(p['energy']) - 2.0) * 0.7),
            clip((math.log(pt / jet['pt']) + 4.7) * 0.7), clip((math.log(p['energy'] / jet['energy']) + 4.7) * 0.7),
            clip((math.hypot(p['deta'], p['dphi']) - 0.2) * 4.0), p['charge'],
            *[float(p['flag'] == i) for i in range(5)], math.tanh(p['d0val']), min(1.0, max(0.0, p['d0err'])),
            math.tanh(p['dzval']), min(1.0, max(0.0, p['dzerr'])), p['deta'], p['dphi'],
            p['px'], p['py'], p['pz'], p['energy']]


@pytest.fixture(scope='module')
def jetclass_root(tmp_path_factory):
    "A tiny JetClass: three classes, train and test, two train files for W; labels as floats or booleans."
    root, rng, truth = tmp_path_factory.mktemp('jetclass'), np.random.default_rng(0), {}
    for split, folder in [('train', 'train_100M'), ('test', 'test_20M')]:
        for c in ['qcd', 'wqq', 'hbb']:
            prefix, label = JETCLASS_PROCESSES[c]
            files = 2 if (c == 'wqq' and split == 'train') else 1
            for k in range(files):
                jets = random_jets(6, rng)
                truth[(split, c, k)] = jets
                write_jetclass_file(root/folder/f'{prefix}_{k:03d}.root', jets, label,
                                    bool if c == 'hbb' else np.float32)
    return root, truth


def test_jetclass_files_read_back_through_the_data_module(jetclass_root):
    root, truth = jetclass_root
    dm = JetClassDataModule(root=str(root), classes=['qcd', 'wqq', 'hbb'], max_particles=64, val_fraction=0.25,
                            batch_size=4)
    dm.setup()
    x, y = dm.source.x.numpy(), dm.source.y.numpy()
    assert x.shape == (24, 64, 21) and np.bincount(y).tolist() == [6, 12, 6]
    order = [('train', 'qcd', 0), ('train', 'wqq', 0), ('train', 'wqq', 1), ('train', 'hbb', 0)]
    jets = [j for key in order for j in truth[key]]
    for i, jet in enumerate(jets):
        n = len(jet['parts'])
        want = np.array([expected_row(p, jet) for p in jet['parts']][:64])
        np.testing.assert_allclose(x[i, :min(n, 64)], want, rtol=2e-5, atol=2e-5)
        assert (x[i, n:] == 0).all()
    assert len(dm.test_source) == 18
    batch = next(iter(dm.train_dataloader()))
    assert batch['views'][0].shape == (4, 64, 21)


def test_max_particles_cuts_and_vectors_off(jetclass_root):
    root, truth = jetclass_root
    dm = JetClassDataModule(root=str(root), classes=['wqq'], max_particles=5, vectors=False, max_jets_per_class=4)
    dm.setup()
    x = torch.cat([dm.source.x, dm.test_source.x]).numpy()
    assert x.shape == (8, 5, 17)  # 4 of 12 training jets, 4 of 6 test jets: the cap is per class and split
    jet = truth[('train', 'wqq', 0)][0]
    np.testing.assert_allclose(x[0, :min(5, len(jet['parts']))],
                               np.array([expected_row(p, jet)[:17] for p in jet['parts'][:5]]), rtol=2e-5, atol=2e-5)


def test_clear_errors(tmp_path, jetclass_root):
    root, _ = jetclass_root
    with pytest.raises(FileNotFoundError, match='train_100M does not exist'):
        JetClassDataModule(root=str(tmp_path)).setup()
    with pytest.raises(FileNotFoundError, match=r"no ZToQQ_\*.root .* class 'zqq' has no files"):
        JetClassDataModule(root=str(root), classes=['zqq']).setup()
    with pytest.raises(ValueError, match="unknown JetClass classes \\['top'\\]"):
        JetClassDataModule(root=str(root), classes=['top'])
    bad = tmp_path/'bad'/'train_100M'
    bad.mkdir(parents=True)
    with uproot.recreate(bad/'WToQQ_000.root') as f: f['tree'] = {'part_px': ak.Array([[1.0]]), 'jet_pt': np.array([1.0])}
    with pytest.raises(ValueError, match=r"lacks the JetClass branches \['part_py'"):
        JetClassDataModule(root=str(bad.parent), classes=['wqq']).setup()
    empty = tmp_path/'empty'
    write_jetclass_file(empty/'train_100M'/'WToQQ_000.root', [], 'label_Wqq')
    with pytest.raises(ValueError, match="class 'wqq' has files in train but no jets"):
        JetClassDataModule(root=str(empty), classes=['wqq']).setup()


def test_streaming_reads_each_training_jet_once_per_epoch_with_two_workers(jetclass_root):
    root, truth = jetclass_root
    dm = JetClassDataModule(root=str(root), classes=['qcd', 'wqq', 'hbb'], streaming=True, mode='labels',
                            batch_size=2, num_workers=2, chunk_size=4, shuffle_buffer=5, exclude_classes=[0],
                            max_jets_per_class=None)
    with pytest.raises(FileNotFoundError, match='val_5M does not exist'):  # the in-memory sample comes from val
        dm.setup()
    import shutil
    shutil.copytree(root/'test_20M', root/'val_5M', dirs_exist_ok=True)
    dm.setup()
    for _ in range(2):  # two epochs
        seen = [(i, y) for b in dm.train_dataloader() for i, y in zip(b['idx'].tolist(), b['y'].tolist())]
        assert len(seen) == 18 and len(set(seen)) == 18  # 12 W + 6 H jets, each once; qcd held out
        assert sorted(y for _, y in seen) == [1] * 12 + [2] * 6


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    "A few hundred Pythia 8 jets of each class, generated by two processes."
    root = tmp_path_factory.mktemp('pythia')/'jets'
    return generate_jetclass(root, CLASSES, n_per_class=250, seed=11, fractions={'train': 1.0}, jets_per_file=125,
                             workers=2, progress=False)


def _branches(root, c):
    files = sorted((root/'train_100M').glob(f'{JETCLASS_PROCESSES[c][0]}_*.root'))
    return ak.concatenate([uproot.open(f)['tree'].arrays(PARTICLE_BRANCHES + JET_BRANCHES) for f in files])


def test_generated_jets_have_the_resonance_masses(generated):
    sd = {c: _branches(generated, c)['jet_sdmass'].to_numpy() for c in CLASSES}
    for c, (lo, hi) in {'wqq': (70, 90), 'zqq': (80, 100), 'ttbar': (155, 190), 'hbb': (110, 132)}.items():
        peak = np.median(sd[c][(sd[c] > 0.5 * lo) & (sd[c] < 1.5 * hi)])
        assert lo < peak < hi, (c, peak)
        assert 0.5 < np.mean((sd[c] > lo - 15) & (sd[c] < hi + 15)), c  # most matched jets in the window
    counts, _ = np.histogram(sd['qcd'], bins=[0, 50, 100, 150, 200, 250])
    assert (np.diff(counts) < 0).all(), counts  # QCD soft-drop mass falls
    assert all(len(v) == 250 for v in sd.values())


def test_generated_jets_kinematics_multiplicity_and_features(generated):
    for c in CLASSES:
        b = _branches(generated, c)
        n = ak.num(b['part_px']).to_numpy()
        assert (n == b['jet_nparticles'].to_numpy()).all()
        assert 10 <= np.percentile(n, 5) and np.percentile(n, 95) <= 150 and 25 < np.median(n) < 110, (c, np.median(n))
        pt = b['jet_pt'].to_numpy()
        assert (pt > 500).all() and (pt < 1000).all() and (np.abs(b['jet_eta'].to_numpy()) < 2).all()
    # the per-class mean of the 17 inputs read by sscl against a plain-Python computation from the files
    x, y, _ = read_jetclass(generated, 'train', CLASSES, max_particles=64)
    for k, c in enumerate(CLASSES):
        rows = []
        for r in _branches(generated, c).to_list():
            jet = {'pt': r['jet_pt'], 'energy': r['jet_energy']}
            for i in range(min(64, len(r['part_px']))):
                p = {k: r[f'part_{k}'][i] for k in ['px', 'py', 'pz', 'energy', 'deta', 'dphi', 'd0val', 'd0err',
                                                    'dzval', 'dzerr', 'charge']}
                p['flag'] = [r[f][i] for f in PARTICLE_BRANCHES[11:]].index(1.0)
                rows.append(expected_row(p, jet))
        want = np.array(rows).mean(0)  # mean over real particles
        xs = x[y == k]
        real = np.abs(xs).sum(-1) > 0
        np.testing.assert_allclose(xs[real].mean(0), want, rtol=1e-4, atol=1e-4)
    # physics in the features: b hadrons fly, so H->bb jets have larger |tanh d0| than QCD jets
    d0 = {c: np.abs(x[y == k][..., 11][np.abs(x[y == k]).sum(-1) > 0]).mean() for k, c in enumerate(CLASSES)}
    assert d0['hbb'] > 1.5 * d0['qcd'], d0


def test_generate_command_and_the_jet_config_train(tmp_path):
    "The README path: `sscl jets generate` with the shipped config (made tiny), then a fast dev run of the ParT config."
    from helpers import sscl
    from conftest import ROOT
    data = tmp_path/'jets'
    r = sscl('jets', 'generate', '--config', ROOT/'configs'/'jets'/'pythia_generate.yaml', '--root', data,
             '--n_per_class', 16, '--jets_per_file', 8, '--progress', 'false')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'train 5 files, test 5 files' in r.stdout, r.stdout  # 8 jets per class and split, 8 a file
    r = sscl('fit', '--config', ROOT/'configs'/'jets'/'pythia_supcon.yaml', '--trainer.fast_dev_run', 'true',
             '--data.init_args.root', data, '--data.init_args.batch_size', 4, '--trainer.default_root_dir',
             tmp_path/'run')
    assert r.returncode == 0, r.stderr[-4000:]
    r = sscl('jets', 'generate', '--root', data, '--n_per_class', 17)
    assert r.returncode == 1 and 'other settings' in r.stderr, r.stderr


def test_detector_makes_a_measured_domain_without_labels(jetclass_root):
    root, _ = jetclass_root
    det = {'scale': 0.9, 'resolution': 0.1, 'efficiency': 0.9}
    dm = JetClassDataModule(root=str(root), classes=['qcd', 'wqq', 'hbb'], detector=det, target_fraction=0.5,
                            labeled_domains=[0], mode='labels', val_fraction=0.1, batch_size=4)
    dm.setup()
    dom = dm.source.domain[dm.splits['train']]
    assert 0 < int(dom.sum()) < len(dom)
    assert (dm.train_labels[dom == 1] == -1).all() and (dm.train_labels[dom == 0] >= 0).all()
    plain = JetClassDataModule(root=str(root), classes=['qcd', 'wqq', 'hbb'])
    plain.setup()
    same = dm.source.domain == 0
    assert torch.equal(dm.source.x[same], plain.source.x[same])
    assert not torch.equal(dm.source.x[~same], plain.source.x[~same])
    with pytest.raises(ValueError, match='in-memory sample'):
        JetClassDataModule(root=str(root), detector=det, streaming=True)
    with pytest.raises(ValueError, match='efficiency must be in'):
        JetClassDataModule(root=str(root), detector={'efficiency': 1.5})


def test_ddp_ranks_and_workers_read_disjoint_files(jetclass_root, tmp_path):
    "Two ranks x two workers: every training jet read by exactly one reader, none lost (files split by reader)."
    import json, shutil, subprocess, sys
    from conftest import ROOT
    root, truth = jetclass_root
    data = tmp_path/'jc'
    shutil.copytree(root, data)
    shutil.copytree(root/'test_20M', data/'val_5M', dirs_exist_ok=True)
    r = subprocess.run([sys.executable, str(ROOT/'tests'/'dist_stream_check.py'), str(data)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    per_rank = json.loads(r.stdout.strip().splitlines()[-1])
    assert all(per_rank), per_rank  # both ranks read
    assert len(per_rank[0]) == len(per_rank[1])  # the same number of batches, or DDP would hang at the epoch's end
    files = lambda ids: {i >> 32 for i in ids}
    assert not files(per_rank[0]) & files(per_rank[1])
    n_train = sum(len(v) for (split, _, _), v in truth.items() if split == 'train')
    assert len(per_rank[0]) + len(per_rank[1]) >= n_train - 2 * 2 * 1  # drop_last may drop one batch per worker
    assert len(set(per_rank[0]) | set(per_rank[1])) == len(per_rank[0]) + len(per_rank[1])


def test_generation_is_reproducible_and_independent_of_workers(tmp_path):
    kw = dict(classes=['wqq', 'qcd'], n_per_class=6, seed=3, fractions={'train': 1.0}, jets_per_file=3, progress=False)
    a = generate_jetclass(tmp_path/'one', workers=1, **kw)
    b = generate_jetclass(tmp_path/'two', workers=2, **kw)
    names = sorted(p.name for p in (a/'train_100M').iterdir())
    assert names == sorted(p.name for p in (b/'train_100M').iterdir()) and len(names) == 4
    for n in names:
        ta, tb = uproot.open(a/'train_100M'/n)['tree'], uproot.open(b/'train_100M'/n)['tree']
        for br in PARTICLE_BRANCHES + JET_BRANCHES:
            assert ak.all(ta[br].array() == tb[br].array()), (n, br)
    c = generate_jetclass(tmp_path/'other', workers=1, **{**kw, 'seed': 4})
    assert not ak.all(uproot.open(c/'train_100M'/names[0])['tree']['jet_pt'].array()
                      == uproot.open(a/'train_100M'/names[0])['tree']['jet_pt'].array())
