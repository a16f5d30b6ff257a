package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;
import org.mtm.itests.harness.regress.ExpectedDifferences;

/**
 * The list of expected differences of the regression files (src/test/resources/pg15-differences) is well formed, lists
 * none of the short form's files (they must answer exactly as on PostgreSQL), names only files that run, and the
 * README's table is the one made from it.
 */
public class ExpectedDifferencesListTest {
    private static final String BEGIN = "<!-- expected-differences: made from itests/replication/src/test/resources/pg15-differences "
        + "(ExpectedDifferencesListTest) -->\n";
    private static final String END = "<!-- end of expected-differences -->\n";

    @Test
    public void theListNamesRunnableFilesOutsideTheShortForm() throws IOException {
        ExpectedDifferences list = RegressDifferential.expected();
        List<String> shortForm = Arrays.asList(RegressDifferential.SHORT.split(","));
        for (String file : list.files()) {
            assertTrue(file + " is in the short form, which must answer exactly", !shortForm.contains(file));
            assertTrue(file + " is excluded from the runs", !RegressDifferential.EXCLUDED.containsKey(file));
            assertTrue(file + ".sql is not a vendored file", Files.exists(Path.of("src/test/resources/pg15/sql/" + file + ".sql")));
        }
    }

    @Test
    public void theVolkswagenListIsWellFormed() {
        // statements-volkswagen.tsv: only statements the default list gives to the stride, knock-ons after another cause
        ExpectedDifferences vw = RegressDifferential.expectedInVolkswagenMode();
        assertTrue(vw.size() < RegressDifferential.expected().size());
        assertEquals(0, (int) vw.counts().getOrDefault(ExpectedDifferences.STRIDED, 0));
    }

    @Test
    public void theReadmeTableIsMadeFromTheList() throws IOException {
        String readme = Files.readString(Path.of("../../README.md"));
        int begin = readme.indexOf(BEGIN);
        int end = readme.indexOf(END);
        assertTrue("README.md has no table between\n" + BEGIN + "and\n" + END, begin >= 0 && end > begin);
        assertEquals("README.md's table of expected differences (replace it with this one)",
            RegressDifferential.expected().readmeTable(), readme.substring(begin + BEGIN.length(), end));
    }
}
