"`sscl pipeline` end to end on the built-in digits: rounds, pseudo-labels, scores and report checked against independent computations."
import os, shutil
import numpy as np
import pytest, yaml
from helpers import ROOT, sscl

def _short_configs(tmp_path, name, base, epochs=2, pseudo_threshold=None):
    "Copy a shipped pipeline config and its base into tmp_path with every round cut to `epochs` epochs."
    b = yaml.safe_load((ROOT/'configs'/base).read_text()); b['trainer']['max_epochs'] = epochs
    (tmp_path/base).write_text(yaml.safe_dump(b))
    p = yaml.safe_load((ROOT/'configs'/name).read_text())
    p['dir'] = str(tmp_path/'run'); p.setdefault('round2', {})['trainer.max_epochs'] = epochs
    p.setdefault('round1', {})['trainer.max_epochs'] = epochs
    if pseudo_threshold is not None: p['pseudo_label']['threshold'] = pseudo_threshold
    (tmp_path/name).write_text(yaml.safe_dump(p))
    return tmp_path/name, p

def _known(data_cfg):
    "The few known training labels and the split, rebuilt from the data section alone."
    import importlib
    mod, cls = data_cfg['class_path'].rsplit('.', 1)
    args = {k: v for k, v in data_cfg['init_args'].items() if k != 'pseudo_labels'}
    dm = getattr(importlib.import_module(mod), cls)(**args); dm.setup()
    return dm

def _spread(h, y, k=10):
    from sklearn.semi_supervised import LabelSpreading
    return LabelSpreading(kernel='knn', n_neighbors=k, alpha=0.2, max_iter=100).fit(h, y)

def _unit(h): return h / np.linalg.norm(h, axis=1, keepdims=True)

def _logreg(h, y):
    "scikit-learn's logistic regression (C=10) on the unit-normalised rows with a label."
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=10, max_iter=1000).fit(_unit(h)[y >= 0], y[y >= 0])

def _constrained_kmeans(h, y):
    "Constrained k-means written out plainly: a centroid per labelled sample, which never leaves it; labels of all rows."
    h = h / np.linalg.norm(h, axis=1, keepdims=True); lab = [i for i in range(len(y)) if y[i] >= 0]
    cent = np.array([h[i] for i in lab]); assign = None
    while True:
        new = np.array([int(np.argmin(((cent - x) ** 2).sum(1))) for x in h])
        for j, i in enumerate(lab): new[i] = j
        if assign is not None and (new == assign).all(): return np.array([y[lab[j]] for j in assign])
        assign = new; cent = np.array([h[assign == j].mean(0) for j in range(len(lab))])

def _rows(npz, idx):
    "An embedding file's h and y in the order of the source indices idx."
    e = np.load(npz); order = np.argsort(e['idx']); pos = np.searchsorted(e['idx'][order], idx)
    return e['h'][order][pos], e['y'][order][pos]

def test_digits_pipeline(tmp_path):
    cfg, p = _short_configs(tmp_path, 'digits_pipeline.yaml', 'digits_fewlabels.yaml', pseudo_threshold=0.2)
    r = sscl('pipeline', '--config', cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'run'
    for f in ('report.md', 'report.json', 'accuracy.png', 'confusion.png', 'corner_round1.png', 'corner_round3.png', 'overview_round3.png',
              'round1/checkpoints/last.ckpt', 'round2/checkpoints/last.ckpt', 'round3/embeddings/test.npz'):
        assert (run/f).exists(), f
    assert p['cycles'] == 2 and not (run/'round4.yaml').exists()
    for i in (2, 3):
        ri = yaml.safe_load((run/f'round{i}.yaml').read_text())
        assert ri['data']['init_args']['mode'] == 'labels' and ri['data']['init_args']['pseudo_labels'] == str(run/f'pseudo_labels_round{i}.npz')
        assert ri['model']['pretrain_ckpt'] == str(run/f'round{i - 1}'/'checkpoints'/'last.ckpt')
    dm = _known(ri['data']); known = dm.known_labels.numpy(); tr_idx = dm.splits['train'].numpy(); te_idx = dm.splits['test'].numpy()
    assert (known >= 0).sum() == 10 and set(known[known >= 0]) == set(range(10))

    # pseudo-labels of round i: logistic regression on round i-1's normalised training embedding, kept above the
    # threshold where LabelSpreading gives the same label, at most `cap` per class (the most confident)
    pl, ev = p['pseudo_label'], p['evaluate']
    assert (pl['method'], pl['agree'], ev['method'], ev['also']) == ('logreg', 'spreading', 'kmeans_logreg', 'spreading')
    for i in (2, 3):
        h, _ = _rows(run/f'round{i - 1}'/'embeddings'/'train.npz', tr_idx)
        prob = _logreg(h, known).predict_proba(_unit(h)); lab_lr = prob.argmax(1); conf = prob.max(1)
        keep = (known < 0) & (conf > pl['threshold']) & (_spread(h, known, pl['k']).transduction_ == lab_lr)
        for c in range(10):
            idx = np.flatnonzero(keep & (lab_lr == c)); keep[idx[np.argsort(-conf[idx], kind='stable')[pl['cap']:]]] = False
        f = np.load(run/f'pseudo_labels_round{i}.npz')
        np.testing.assert_array_equal(f['idx'], tr_idx)
        np.testing.assert_array_equal(f['label'], np.where(known >= 0, known, np.where(keep, lab_lr, -1)))

    # scores: constrained k-means labels the training rows from the 10 known labels, a logistic regression fitted on
    # them labels the test rows (raw pixels too); logistic regression from the 10 labels alone, spreading beside it,
    # k-means and 1-NN
    table = yaml.safe_load((run/'report.json').read_text())['table']
    x = dm.source.x.flatten(1).numpy(); y_all = dm.source.y.numpy(); y_te = y_all[te_idx]
    assert table['raw logistic regression']['accuracy'] == pytest.approx(
        (_logreg(x[tr_idx], known).predict(_unit(x[te_idx])) == y_te).mean(), abs=1e-12)
    for name in ('round1', 'round2', 'round3', 'raw k-means + logistic regression'):
        h_tr, h_te = (x[tr_idx], x[te_idx]) if name.startswith('raw') else \
            (_rows(run/name/'embeddings'/'train.npz', tr_idx)[0], _rows(run/name/'embeddings'/'test.npz', te_idx)[0])
        pred = _logreg(h_tr, _constrained_kmeans(h_tr, known)).predict(_unit(h_te))
        assert table[name]['accuracy'] == pytest.approx((pred == y_te).mean(), abs=1e-12), name
        if name.startswith('raw'): continue
        sp = _spread(np.concatenate([h_tr, h_te]), np.r_[known, np.full(len(te_idx), -1)], ev['k']).transduction_
        assert table[name]['also_accuracy'] == pytest.approx((sp[len(tr_idx):] == y_te).mean(), abs=1e-12), name
        assert table[name]['draws']['n'] == ev['draws'] and 0 <= table[name]['draws']['p5'] <= table[name]['draws']['mean']
    pred = _constrained_kmeans(np.concatenate([x[tr_idx], x[te_idx]]), np.r_[known, np.full(len(te_idx), -1)])[len(tr_idx):]
    assert table['raw k-means']['accuracy'] == pytest.approx((pred == y_te).mean(), abs=1e-12)
    lab = tr_idx[known >= 0]; d = ((x[te_idx, None] - x[None, lab]) ** 2).sum(-1)
    assert table['raw 1-NN']['accuracy'] == pytest.approx((y_all[lab][d.argmin(1)] == y_te).mean(), abs=1e-12)
    md = (run/'report.md').read_text()
    for row in ('| raw 1-NN |', '| raw logistic regression |', '| raw LabelSpreading |', '| raw k-means |',
                '| raw k-means + logistic regression |', '| round1 |', '| round3 |', '10 labelled',
                "Pseudo-labels for round3 (logreg, threshold 0.2, where spreading agrees, at most 100 per class in round2's"): assert row in md

    # nothing is overwritten without --overwrite; --resume keeps finished rounds; a foreign embedding file is refused
    before = (run/'report.md').stat().st_mtime_ns
    r = sscl('pipeline', '--config', cfg, cwd=tmp_path)
    assert r.returncode == 1 and '--overwrite' in r.stderr and (run/'report.md').stat().st_mtime_ns == before
    r = sscl('pipeline', '--config', cfg, '--resume', cwd=tmp_path)
    assert r.returncode == 0 and all(f'{n} finished earlier, kept' in r.stdout for n in ('round1', 'round2', 'round3'))
    e = dict(np.load(run/'round3'/'embeddings'/'test.npz')); np.savez(run/'round3'/'embeddings'/'test.npz', **{k: v[:-5] for k, v in e.items()})
    r = sscl('pipeline', '--config', cfg, '--resume', cwd=tmp_path)
    assert r.returncode == 1 and 'not the 359 samples of this split' in r.stderr, r.stderr[-2000:]
    r = sscl('pipeline', '--config', cfg, '--resume', '--overwrite', cwd=tmp_path)
    assert r.returncode == 1 and 'not both' in r.stderr

def test_mnist1d_pipeline(tmp_path):
    "The same pipeline on time series: MNIST-1D's own test split, one label per class, scores checked by hand."
    cfg, p = _short_configs(tmp_path, 'mnist1d_pipeline.yaml', 'mnist1d_simclr.yaml', epochs=1, pseudo_threshold=0.0)
    # dotted overrides of the pipeline config, as with sscl fit: one cycle instead of the config's, round 2's epochs
    r = sscl('pipeline', '--config', cfg, '--cycles', '1', '--round2.trainer.max_epochs=2', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'run'
    table = yaml.safe_load((run/'report.json').read_text())['table']
    assert {'raw 1-NN', 'raw logistic regression', 'raw LabelSpreading', 'round1', 'round2'} <= set(table)
    assert 'round3' not in table and p.get('cycles', 1) != 1
    assert yaml.safe_load((run/'round2.yaml').read_text())['trainer']['max_epochs'] == 2
    assert '`--cycles 1`, `--round2.trainer.max_epochs 2`' in (run/'report.md').read_text()
    dm = _known(yaml.safe_load((run/'round1.yaml').read_text())['data'])
    known, tr_idx, te_idx = dm.known_labels.numpy(), dm.splits['train'].numpy(), dm.splits['test'].numpy()
    assert len(te_idx) == 1000 and (known >= 0).sum() == 10  # MNIST-1D's own test split
    h_tr = _rows(run/'round1'/'embeddings'/'train.npz', tr_idx)[0]
    h_te, y_te = _rows(run/'round1'/'embeddings'/'test.npz', te_idx)
    assert (y_te == dm.test_source.y.numpy()[te_idx]).all()
    acc = (_logreg(h_tr, known).predict(_unit(h_te)) == y_te).mean()
    assert table['round1']['accuracy'] == pytest.approx(acc, abs=1e-12)

def _metric_seen(run, key):
    "Whether a round's metrics.csv logged `key`."
    import csv
    return any(r_.get(key) for r_ in csv.DictReader(open(run/'metrics.csv')))

def test_domain_adaptation_pipeline(tmp_path):
    """Shifted digits: measured source views, pseudo-labels from the measurement model, a domain head and alignment
    variants, the label-free pick recomputed."""
    cfg, p = _short_configs(tmp_path, 'digits_shift_pipeline.yaml', 'digits_fewlabels.yaml', pseudo_threshold=0.0)
    p['variants'] = {k: p['variants'][k] for k in ('coral03', 'disco03')}  # two of the shipped variants, for time
    (tmp_path/'digits_shift_pipeline.yaml').write_text(yaml.safe_dump(p))
    r = sscl('pipeline', '--config', cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'run'
    md = (run/'report.md').read_text()
    assert '| round2_adapted |' in md and 'target (domain 1)' in md and 'domain AUC' in md
    report = yaml.safe_load((run/'report.json').read_text())
    table = report['table']
    names = ['round2', 'round2_adapted', 'round2_coral03', 'round2_disco03']
    for n in ['round1'] + names: assert {'accuracy_domain0', 'accuracy_domain1', 'domain_auc'} <= set(table[n])
    assert _metric_seen(run/'round2_adapted', 'train/domain_epoch'), 'the adapted round trained no domain head'
    assert _metric_seen(run/'round2_coral03', 'train/coral_epoch') and _metric_seen(run/'round2_disco03', 'train/disco_epoch')
    assert not _metric_seen(run/'round2', 'train/domain_epoch') and not _metric_seen(run/'round2', 'train/coral_epoch')
    # the measurement (contrast 0.7, blur 0.5, noise 0.15 in the config) is fitted without target labels and labels
    # the target before any useful training (one epoch here): precision far above what the embedding could give
    fit = report['pseudo_labels']['round2']['measurement']['1']
    assert fit['blur'] == 0.5 and abs(fit['contrast'] - 0.7) < 0.051 and 0.15 <= fit['noise'] <= 0.2, fit
    assert report['pseudo_labels']['round2']['accuracy_kept'] > 0.9
    assert table['raw measurement model (fitted without target labels)']['measurement']['1'] == fit
    assert 'sscl: source views measured as the target' in r.stdout + r.stderr
    dm = _known(yaml.safe_load((run/'round1.yaml').read_text())['data'])
    known, tr_idx = dm.known_labels.numpy(), dm.splits['train'].numpy()
    dom = dm.source.domain[dm.splits['train']].numpy()
    f = np.load(run/'pseudo_labels_round2.npz')
    assert (f['label'][dom == 0] >= 0).all()  # the source keeps its labels; only the target is pseudo-labelled
    assert f['keep'][dom == 0].sum() == 0 and f['keep'][dom == 1].sum() > 0
    # the label-free numbers and the pick, recomputed from the training embeddings with scikit-learn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    clf = lambda: make_pipeline(StandardScaler(), LogisticRegression(C=10.0, max_iter=2000))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    mine = {}
    for n in names:
        h = _rows(run/n/'embeddings'/'train.npz', tr_idx)[0]
        auc = roc_auc_score(dom, cross_val_predict(clf(), h, dom, cv=cv, method='predict_proba')[:, 1])
        lab = known >= 0
        cv_acc = (cross_val_predict(clf(), h[lab], known[lab], cv=cv) == known[lab]).mean()
        assert table[n]['domain_auc'] == pytest.approx(auc, abs=1e-9) and table[n]['known_cv'] == pytest.approx(cv_acc, abs=1e-9)
        mine[n] = (cv_acc, auc)
    best = max(a for a, _ in mine.values())
    assert report['label_free_pick'] == min((n for n in names if mine[n][0] >= best - 0.01), key=lambda n: mine[n][1])

def test_toyjets_shift_pipeline(tmp_path):
    "Toy jets against detector-smeared jets: the physics-shaped shift runs end to end and scores each domain."
    cfg, p = _short_configs(tmp_path, 'toyjets_shift_pipeline.yaml', 'toyjets_supcon.yaml', epochs=1, pseudo_threshold=0.0)
    for r_ in ('round1', 'round2'): p[r_]['data.init_args']['n_per_class'] = 60
    p['variants'] = {'mmd': p['variants']['mmd']}
    (tmp_path/'toyjets_shift_pipeline.yaml').write_text(yaml.safe_dump(p))
    r = sscl('pipeline', '--config', cfg, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'run'
    table = yaml.safe_load((run/'report.json').read_text())['table']
    assert set(table) >= {'raw 1-NN', 'round1', 'round2', 'round2_adapted', 'round2_mmd'}
    assert _metric_seen(run/'round2_mmd', 'train/mmd_epoch')
    dm = _known(yaml.safe_load((run/'round1.yaml').read_text())['data'])
    te = dm.splits['test'].numpy()
    h_te, y_te = _rows(run/'round2_mmd'/'embeddings'/'test.npz', te)
    h_tr = _rows(run/'round2_mmd'/'embeddings'/'train.npz', dm.splits['train'].numpy())[0]
    pred = _logreg(h_tr, dm.known_labels.numpy()).predict(_unit(h_te))
    d_te = dm.source.domain[te].numpy()
    assert table['round2_mmd']['accuracy_domain1'] == pytest.approx((pred == y_te)[d_te == 1].mean(), abs=1e-12)

def test_pipeline_config_errors(tmp_path):
    (tmp_path/'p.yaml').write_text('base: nothere.yaml\n')
    r = sscl('pipeline', '--config', tmp_path/'p.yaml')
    assert r.returncode == 1 and 'nothere.yaml does not exist' in r.stderr
    shutil.copy(ROOT/'configs'/'digits_simclr.yaml', tmp_path)
    (tmp_path/'p.yaml').write_text(f'dir: {tmp_path}/run\nbase: digits_simclr.yaml\nlabels: {{labels_per_clas: 1}}\n')
    r = sscl('pipeline', '--config', tmp_path/'p.yaml')
    assert r.returncode == 1 and 'labels_per_clas' in r.stderr and not (tmp_path/'run').exists()
