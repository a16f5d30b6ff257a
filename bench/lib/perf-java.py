#!/usr/bin/env python3
"""perf-java.py SCRIPT GROUPREGEX [N]: for the JVM threads whose name matches, the leaf-most project frame (org.mtm.*) of
each sample (the project method on whose behalf the CPU went) and the most frequent frames anywhere on the stack."""
import sys, re, collections
script, pat, n = sys.argv[1], re.compile(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 25
hdr = re.compile(r'^(\S.*?)\s+(\d+)/(\d+)\s*$')
fr = re.compile(r'^\s+([0-9a-f]+)\s+(.*?) \((.*)\)\s*$')
own = collections.Counter(); incl = collections.Counter(); total = 0
def short(fn):
    fn = re.sub(r'\(.*', '', fn)
    return fn.split(' ')[-1]
def flush(frames):
    global total
    if frames is None: return
    total += 1
    o = next((short(f) for f in frames if 'org.mtm.' in f), '(no project frame)')
    own[o] += 1
    for f in set(short(f) for f in frames):
        incl[f] += 1
frames = None
for line in open(script, errors='replace'):
    m = hdr.match(line)
    if m:
        flush(frames)
        frames = [] if pat.search(m.group(1).strip()) else None
        continue
    m = fr.match(line)
    if m and frames is not None:
        frames.append(m.group(2))
flush(frames)
print('%d samples' % total)
print('-- leaf-most project frame')
for f, c in own.most_common(n): print('  %5.1f %%  %s' % (100.0 * c / total, f))
print('-- anywhere on the stack')
for f, c in incl.most_common(n * 2): print('  %5.1f %%  %s' % (100.0 * c / total, f))
