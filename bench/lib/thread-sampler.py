#!/usr/bin/env python3
"""thread-sampler.py STATE OUT FLAG: while the file FLAG exists, once a second, one line per thread of every process of
the ./mtm cluster in STATE (each node's Karaf process group, its postmaster and the postmaster's children):
"<epoch> n<node> <pid> <tid> <utime+stime ticks> <name>", the name a JVM thread's or the server process's title."""
import os, sys, time, subprocess
state, out, flag = sys.argv[1], sys.argv[2], sys.argv[3]
def pids():
    res = []
    for i in range(1, 10):
        if not os.path.exists(f"{state}/node{i}/karaf.pgid"):
            continue
        pgid = int(open(f"{state}/node{i}/karaf.pgid").read().strip())
        env = dict(l.strip().split('=', 1) for l in open(f"{state}/node{i}/node.env") if '=' in l)
        pgdata = env.get('PGDATA_DIR', '').strip('"\'')
        try: pm = int(open(f"{pgdata}/postmaster.pid").readline())
        except Exception: pm = None
        for p in os.listdir('/proc'):
            if not p.isdigit(): continue
            try:
                s = open(f'/proc/{p}/stat').read()
            except OSError: continue
            rest = s[s.rindex(')') + 2:].split()
            ppid, pg = int(rest[1]), int(rest[2])
            if pg == pgid or int(p) == pm or (pm and ppid == pm): res.append((i, int(p)))
    return res
with open(out, 'w') as f:
    while os.path.exists(flag):
        t = time.time()
        for n, p in pids():
            try: cmd = open(f'/proc/{p}/cmdline').read().replace('\0', ' ')[:70]
            except OSError: continue
            try: tasks = os.listdir(f'/proc/{p}/task')
            except OSError: continue
            for tid in tasks:
                try: s = open(f'/proc/{p}/task/{tid}/stat').read()
                except OSError: continue
                name = s[s.index('(') + 1:s.rindex(')')]
                rest = s[s.rindex(')') + 2:].split()
                tk = int(rest[11]) + int(rest[12])
                if not cmd.startswith('/') or 'postgres' in cmd and 'java' not in cmd: name = cmd.strip()
                f.write(f"{t:.2f} n{n} {p} {tid} {tk} {name}\n")
        f.flush()
        time.sleep(max(0, 1 - (time.time() - t)))
