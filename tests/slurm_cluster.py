"A one-node SLURM on localhost for the tests: munged, slurmctld and slurmd with their state in a temp dir."
import os, shutil, socket, subprocess, time
from pathlib import Path

DAEMONS = ('munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'squeue', 'scancel')

def why_not() -> str|None:
    "The reason a local cluster cannot start here, or None."
    if os.geteuid() != 0: return 'the SLURM tests start slurmctld/slurmd/munged and must run as root (CI does)'
    missing = [d for d in DAEMONS if not _which(d)]
    if missing: return f'SLURM is not installed ({", ".join(missing)} missing): apt-get install slurmctld slurmd slurm-client munge'
    return None

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _which(name): return shutil.which(name)  # on the PATH (root's PATH holds /usr/sbin)

def _exe(name): return _which(name) or name

class LocalSlurm:
    "Start with `start()`, stop with `stop()`; `env` holds SLURM_CONF for the client commands."
    def __init__(self, root:Path):
        self.root, self.procs = Path(root), []
        self.host = socket.gethostname()
        self.env = {**os.environ, 'SLURM_CONF': str(self.root/'slurm.conf')}

    def conf(self) -> str:
        mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**20 - 1024
        r = self.root
        return '\n'.join([
            'ClusterName=sscltest', f'SlurmctldHost={self.host}', f'SlurmctldPort={_free_port()}', f'SlurmdPort={_free_port()}',
            'AuthType=auth/munge', 'CredType=cred/munge', f'AuthInfo=socket={r}/munge.socket,cred_expire=10', 'SchedulerParameters=sched_interval=2',
            'SlurmUser=root', 'SlurmdUser=root', 'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none',
            'SchedulerType=sched/builtin', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
            'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none', 'MpiDefault=none',
            f'StateSaveLocation={r}/state', f'SlurmdSpoolDir={r}/spool', f'SlurmctldPidFile={r}/slurmctld.pid',
            f'SlurmdPidFile={r}/slurmd.pid', f'SlurmctldLogFile={r}/slurmctld.log', f'SlurmdLogFile={r}/slurmd.log',
            'ReturnToService=2', 'MinJobAge=600', 'KillWait=5',
            f'NodeName={self.host} CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN',
            'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP', ''])

    def start(self, timeout:float=30):
        r = self.root; (r/'state').mkdir(parents=True, exist_ok=True); (r/'spool').mkdir(exist_ok=True)
        (r/'slurm.conf').write_text(self.conf())
        subprocess.run([_exe('munged'), '--force', f'--socket={r}/munge.socket', '--key-file=/etc/munge/munge.key',
                        f'--pid-file={r}/munged.pid', f'--log-file={r}/munged.log', f'--seed-file={r}/munged.seed'], check=True)
        for d in ('slurmctld', 'slurmd'):
            self.procs.append(subprocess.Popen([_exe(d), '-D', '-f', str(r/'slurm.conf')] + (['-c', '-i'] if d == 'slurmctld' else []),
                                               env=self.env, stdout=open(r/f'{d}.out', 'w'), stderr=subprocess.STDOUT))
        t0 = time.time()
        while time.time() - t0 < timeout:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead: self.stop(); raise RuntimeError(f'SLURM daemon exited: {(r/"slurmctld.out").read_text()}{(r/"slurmd.out").read_text()}')
            out = subprocess.run(['sinfo', '-h', '-o', '%T'], env=self.env, capture_output=True, text=True).stdout.strip()
            if out in ('idle', 'mixed', 'allocated'): return self
            time.sleep(0.3)
        self.stop(); raise RuntimeError(f'local SLURM did not come up in {timeout} s (node state {out!r}); logs in {r}')

    def stop(self):
        for p in self.procs: p.terminate()
        for p in self.procs:
            try: p.wait(10)
            except subprocess.TimeoutExpired: p.kill()
        pid = self.root/'munged.pid'
        if pid.exists():
            try: os.kill(int(pid.read_text()), 15)
            except (ProcessLookupError, ValueError): pass

    def job(self, job_id:str) -> dict:
        "`scontrol show job` as a dict (first record; an array's tasks are separate records)."
        out = subprocess.run(['scontrol', 'show', '-o', 'job', str(job_id)], env=self.env, capture_output=True, text=True).stdout
        recs = [dict(kv.split('=', 1) for kv in line.split() if '=' in kv) for line in out.strip().splitlines()]
        return recs

    def wait(self, job_id:str, timeout:float=300, until=('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY')) -> list[dict]:
        "Poll until every record of the job is in a state of `until`; returns the records."
        t0 = time.time()
        while time.time() - t0 < timeout:
            recs = self.job(job_id)
            if recs and all(r.get('JobState') in until for r in recs): return recs
            time.sleep(1)
        raise TimeoutError(f'job {job_id} not finished after {timeout} s: {[r.get("JobState") for r in self.job(job_id)]}')
