package org.mtm.api.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What is made from a set of files (a TLS context from certificate, key, CA and CRL files), made again when one of
 * them changes. The files are looked at (modification time, size, inode) at every {@link #current()} — for TLS, at
 * every new connection — so a renewed certificate or a new CRL applies to the next connection without a restart; a
 * change that cannot be used (a renewal caught half-written, say) is logged and the previous value stays in use.
 *
 * @param <T> what the files make
 */
public final class ReloadingFiles<T> {
    private static final Logger LOG = LoggerFactory.getLogger(ReloadingFiles.class);

    /** What tells a file changed without reading it. */
    private record Stamp(FileTime modified, long size, Object fileKey) {
        static Stamp of(Path p) throws IOException {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return new Stamp(a.lastModifiedTime(), a.size(), a.fileKey());
        }
    }

    private record Loaded<T>(T value, List<Stamp> stamps) { }

    private final String what;
    private final List<Path> files;
    private final Function<List<Path>, T> make;
    private volatile Loaded<T> loaded;

    /**
     * Makes the value at once.
     *
     * @param what  names the files in log lines, e.g. "gateway certificate"
     * @param make  throws {@link IllegalArgumentException} naming the settings to fix when the files cannot be used
     * @throws IllegalArgumentException from {@code make}, or when a file cannot be read
     */
    public ReloadingFiles(String what, List<Path> files, Function<List<Path>, T> make) {
        this.what = what;
        this.files = List.copyOf(files);
        this.make = make;
        this.loaded = load();
    }

    /** The value of the files as they are now (made again first if one changed since). */
    public T current() {
        Loaded<T> l = loaded;
        try {
            if (!l.stamps().equals(stamps())) {
                synchronized (this) {
                    l = loaded;
                    if (!l.stamps().equals(stamps())) {
                        l = load();
                        loaded = l;
                        LOG.info("{} {} re-read: new connections use it", what, files);
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("{} {} changed but cannot be used ({}); new connections still use the previous one. Fix the files",
                    what, files, e.getMessage());
        }
        return l.value();
    }

    public List<Path> files() {
        return files;
    }

    private Loaded<T> load() {
        List<Stamp> stamps;
        try {
            stamps = stamps(); // before reading: a change while it is read is seen at the next look
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + what + " " + files + ": " + e, e);
        }
        return new Loaded<>(make.apply(files), stamps);
    }

    private List<Stamp> stamps() throws IOException {
        List<Stamp> s = new ArrayList<>(files.size());
        for (Path p : files) {
            s.add(Stamp.of(p));
        }
        return s;
    }
}
