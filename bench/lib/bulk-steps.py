#!/usr/bin/env python3
"""Per-step CPU of a bulk load (bench/bulk-load-profile): reads the timestamped pgbench -i log, the per-thread samples
of thread-sampler.py and each node's pid -> application_name map, and prints for every step its wall time and the
CPU-seconds of the thread groups that used most of it."""
import collections, re, sys

init_log, samples, names_dir = sys.argv[1], sys.argv[2], sys.argv[3]
first_writes = sys.argv[4] if len(sys.argv) > 4 else None

# step boundaries from pgbench -i's own progress lines ("<epoch> <line>")
marks = []
for line in open(init_log):
    t, _, text = line.rstrip('\n').partition(' ')
    t = float(t)
    for pat, step in (('dropping old tables', 'drop tables'), ('creating tables', 'create tables'),
                      ('generating data', 'client-side generate: COPY rows sent'), ('of 1', None),
                      ('vacuuming', 'vacuum'), ('creating primary keys', 'primary keys'), ('done in', 'end')):
        if text.startswith(pat) or (pat == 'of 1' and re.match(r'\d+ of \d+ tuples \(100%\)', text)):
            if pat == 'of 1':
                marks.append((t, 'client-side generate: COPY end and commit (3PC: decode, receive, apply, PREPARE on the peers)'))
            else:
                marks.append((t, step))
            break
if first_writes:
    t_end = None
    for line in open(first_writes):
        p = line.split()
        if p and p[0] == 'end':
            t_end = float(p[1])
    if t_end:
        marks.append((marks[-1][0], 'first writes through the other gateways (their walsenders decode the copies)'))
        marks.append((t_end, 'end'))
# collapse to (start, end, name)
steps = []
for i in range(len(marks) - 1):
    if marks[i][1] != 'end':
        steps.append((marks[i][0], marks[i + 1][0], marks[i][1]))

apps = {}
for n in (1, 2, 3, 4, 5, 6, 7, 8, 9):
    try:
        for line in open(f"{names_dir}/apps{n}.txt"):
            p = line.strip().split('|')
            if len(p) >= 2:
                apps[(f"n{n}", p[0])] = p[1] or (p[2] if len(p) > 2 else '')
    except OSError:
        pass

def group(node, pid, tid, name):
    if name.startswith('postgres:'):
        if 'walsender' in name:
            return 'walsenders'
        if re.search(r'\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]', name):
            app = apps.get((node, pid), '')
            app = re.sub(r'_\d+$', '_N', re.sub(r'_\d+_\d+$', '_N_N', app))
            return 'backend ' + (app or '(ended)')
        return name.split(' (')[0][:40]
    if name.startswith('/'):
        return 'postmaster'
    name = re.sub(r'-\d+$', '-N', name)
    name = re.sub(r'#\d+', '#', name)
    name = re.sub(r'(mtm-\w+)-[\d-]+', r'\1-N', name)
    return 'jvm ' + name

series = collections.defaultdict(dict)
gname = {}
for line in open(samples):
    p = line.split(None, 5)
    t = float(p[0]); key = (p[1], p[2], p[3])
    series[key][t] = int(p[4])
    if key not in gname:
        gname[key] = (p[1], group(p[1], p[2], p[3], p[5].strip() if len(p) > 5 else ''))
times = sorted({t for s in series.values() for t in s})

def at(s, t):  # ticks of one thread at the last sample <= t (0 before it existed)
    best = 0
    for ts, v in s.items():
        if ts <= t:
            best = max(best, v)
    return best

def nearest(t, after):
    c = [x for x in times if (x >= t if after else x <= t)]
    return (min(c) if after else max(c)) if c else (times[-1] if after else times[0])

for a, b, name in steps:
    ta, tb = nearest(a, False), nearest(b, True)
    per = collections.Counter()
    for key, s in series.items():
        d = at(s, tb) - at(s, ta)
        if d > 0:
            per[gname[key]] += d
    total = sum(per.values())
    print(f"  {name}: {b - a:.2f} s (samples {tb - ta:.1f} s), cluster CPU {total / 100:.1f} s")
    if b - a < 0.5:
        continue
    for (node, g), v in per.most_common(8):
        if v >= 20:
            print(f"      {v / 100:6.2f} s  {node} {g}")
