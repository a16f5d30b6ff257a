package org.mtm.itests.harness.regress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PostgreSQL's parallel_schedule read as one sequence: the tests of its "test:" lines in the order they appear (a
 * parallel group in its listed order), each once; "ignore:" lines only say a test's result is not to be trusted.
 */
public record RegressSchedule(List<String> tests, List<String> ignored) {

    public static RegressSchedule parse(String schedule) {
        List<String> tests = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (String raw : schedule.lines().toList()) {
            String line = raw.strip();
            if (line.startsWith("test:")) {
                for (String name : line.substring(5).trim().split("\\s+")) {
                    if (!name.isEmpty() && !tests.contains(name)) {
                        tests.add(name);
                    }
                }
            } else if (line.startsWith("ignore:")) {
                ignored.addAll(List.of(line.substring(7).trim().split("\\s+")));
            }
        }
        return new RegressSchedule(List.copyOf(tests), List.copyOf(ignored));
    }

    /**
     * The tests to run, in schedule order: {@code wanted} ("all", or names separated by commas or spaces) minus
     * {@code excluded}; a wanted name the schedule does not have is an error.
     */
    public List<String> select(String wanted, Map<String, String> excluded) {
        List<String> names = wanted.trim().equals("all") ? tests : List.of(wanted.trim().split("[,\\s]+"));
        for (String name : names) {
            if (!tests.contains(name)) {
                throw new IllegalArgumentException("no test '" + name + "' in parallel_schedule");
            }
        }
        return tests.stream().filter(names::contains).filter(name -> !excluded.containsKey(name)).toList();
    }

    /** {@code excluded} restricted to the tests {@code wanted} names, in schedule order (for the report). */
    public Map<String, String> excludedOf(String wanted, Map<String, String> excluded) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> names = wanted.trim().equals("all") ? tests : List.of(wanted.trim().split("[,\\s]+"));
        tests.stream().filter(names::contains).filter(excluded::containsKey).forEach(name -> out.put(name, excluded.get(name)));
        return out;
    }
}
