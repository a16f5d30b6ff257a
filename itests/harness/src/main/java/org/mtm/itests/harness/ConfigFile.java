package org.mtm.itests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Sets keys in a Karaf {@code etc/*.cfg} file in place, keeping its comments; appends keys it lacks. */
public final class ConfigFile {
    private ConfigFile() {
    }

    public static void put(Path file, String key, String value) {
        try {
            List<String> lines = Files.exists(file) ? new ArrayList<>(Files.readAllLines(file)) : new ArrayList<>();
            Pattern assignment = Pattern.compile("^\\s*" + Pattern.quote(key) + "\\s*[=:].*$");
            String line = key + " = " + value;
            boolean replaced = false;
            for (int i = 0; i < lines.size(); i++) {
                if (assignment.matcher(lines.get(i)).matches()) {
                    lines.set(i, line);
                    replaced = true;
                }
            }
            if (!replaced) {
                lines.add(line);
            }
            Files.write(file, lines);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set " + key + " in " + file, e);
        }
    }
}
