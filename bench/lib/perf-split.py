#!/usr/bin/env python3
"""perf-split.py SCRIPT KINDS... [--commits N]: a system-wide `perf record -a -g` (as `perf script -F pid,tid,comm,ip,sym,dso`)
split by process group — PostgreSQL processes by their kind (files of "[nodeK-pg]PID KIND" lines, e.g. the benchmark's
--profile *.kinds), JVM threads by name (digits as N), anything else by command — each with its share in kernel mode,
its system calls (the __x64_sys_* frame of kernel samples) and its top user-mode functions. With --commits N, ms
per commit is derived from the samples (the sampling frequency read from the `perf script` header is not known here:
pass --hz, default 499) ."""
import sys, re, collections
args = sys.argv[1:]
commits, hz, top = 0, 499, 6
files = []
i = 0
while i < len(args):
    if args[i] == '--commits': commits = int(args[i + 1]); i += 2
    elif args[i] == '--hz': hz = int(args[i + 1]); i += 2
    elif args[i] == '--top': top = int(args[i + 1]); i += 2
    else: files.append(args[i]); i += 1
script, kindfiles = files[0], files[1:]
kind = {}
for kf in kindfiles:
    for line in open(kf):
        f = line.split()
        if len(f) >= 2:
            pid = re.sub(r'^node\d+-pg', '', f[0])
            k = re.sub(r'[0-9]+', 'N', f[1])
            k = re.sub(r"'MTM-[^']*'?", "'<gid>'", k)
            k = re.sub(r':(COMMIT_PREPARED|_?PREPARE_TRANSACTION).*', r':\1', k)
            kind.setdefault(pid, k)  # the first file wins
def group(comm, pid):
    if comm == 'postgres':
        return 'pg:' + kind.get(pid, 'unknown-pid')
    if comm in ('java',) or comm.startswith(('mtm-', 'C1 ', 'C2 ', 'VM ', 'GC ', 'G1 ')) or comm[:1].isupper():
        return 'jvm:' + re.sub(r'[0-9]+', 'N', comm)
    return 'other:' + comm
samples = collections.Counter(); kern = collections.Counter()
sysc = collections.defaultdict(collections.Counter); usr = collections.defaultdict(collections.Counter)
incl = collections.defaultdict(collections.Counter)
cur = None
def flush(s):
    if not s: return
    g, frames = s
    samples[g] += 1
    if frames and frames[0][0].startswith('ffffffff'):
        kern[g] += 1
        sc = next((fn for a, fn in frames if fn.startswith('__x64_sys_') or fn.startswith('__do_sys_')), None)
        sysc[g][sc or ('(irq/other) ' + frames[0][1])] += 1
    else:
        usr[g][frames[0][1] if frames else '?'] += 1
    # the first user-mode frame under a kernel sample counts as its caller
    seen = set()
    for a, fn in frames:
        if not a.startswith('ffffffff') and fn not in seen:
            seen.add(fn); incl[g][fn] += 1
hdr = re.compile(r'^(\S.*?)\s+(\d+)/(\d+)\s*$')
fr = re.compile(r'^\s+([0-9a-f]+)\s+(.*?) \((.*)\)\s*$')
for line in open(script, errors='replace'):
    m = hdr.match(line)
    if m:
        flush(cur); cur = (group(m.group(1).strip(), m.group(2)), []); continue
    m = fr.match(line)
    if m and cur:
        fn = m.group(2)
        fn = re.sub(r'\+0x[0-9a-f]+$', '', fn)
        if fn == '[unknown]' or re.match(r'^0x', fn): fn = '[' + m.group(3).split('/')[-1] + ']'
        cur[1].append((m.group(1), fn))
flush(cur)
total = sum(samples.values())
per = (lambda n: '%7.3f ms/commit' % (n / hz * 1000.0 / commits)) if commits else (lambda n: '')
print('%d samples' % total)
for g, n in samples.most_common():
    if n < total * 0.004: continue
    print('%6.1f %% %s  kernel %3.0f %%  %s' % (100.0 * n / total, per(n), 100.0 * kern[g] / n, g))
    for fn, c in sysc[g].most_common(top):
        print('            sys %5.1f %%  %s' % (100.0 * c / n, fn))
    for fn, c in usr[g].most_common(top):
        print('            usr %5.1f %%  %s' % (100.0 * c / n, fn))
