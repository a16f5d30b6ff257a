package org.mtm.consensus.internal.settings;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class SharedSettingsTest {

    @Test
    public void sameValuesNoDifferenceAfterTheWire() {
        Map<String, String> mine = SharedSettings.of(Map.of("heartbeat_recv_timeout", 2000, "max_workers", 8));
        assertEquals(List.of(), SharedSettings.differences(2, SharedSettings.decode(SharedSettings.encode(mine)), mine));
        assertFalse("local tuning is not compared", mine.containsKey("max_workers"));
    }

    @Test
    public void aRequestForTheReceiversValuesCarriesTheSendersToo() {
        Map<String, String> mine = SharedSettings.of(Map.of("monotonic_sequences", "true"));
        byte[] asking = SharedSettings.encode(mine, true);
        assertEquals(true, SharedSettings.asks(asking));
        assertEquals(false, SharedSettings.asks(SharedSettings.encode(mine)));
        assertEquals(mine, SharedSettings.decode(asking));
    }

    @Test
    public void eachDifferingKeyNamedWithBothValues() {
        Map<String, String> mine = SharedSettings.of(Map.of("deadlock_prevention", "off"));
        Map<String, String> theirs = SharedSettings.of(Map.of("heartbeat_recv_timeout", "5000", "deadlock_prevention",
            "SMART", "referee_connstring", "host=ref password=secret"));
        assertEquals(List.of("node 3: deadlock_prevention = smart (here off)", "node 3: heartbeat_recv_timeout = 5000 (here 2000)",
                "node 3: referee_connstring = (set) (here '')"),
            SharedSettings.differences(3, SharedSettings.decode(SharedSettings.encode(theirs)), mine));
        assertFalse("no password on the wire", new String(SharedSettings.encode(theirs), StandardCharsets.UTF_8).contains("secret"));
    }

    @Test
    public void unknownKeysAndBadLinesAreIgnoredMissingKeysAreDefaults() {
        Map<String, String> theirs = SharedSettings.decode("garbage\nnew_key_of_a_newer_version=1\nmonotonic_sequences=true\n=x\n"
            .getBytes(StandardCharsets.UTF_8));
        assertEquals(Map.of("monotonic_sequences", "true"), theirs);
        assertEquals(List.of("node 2: monotonic_sequences = true (here false)"),
            SharedSettings.differences(2, theirs, SharedSettings.of(Map.of())));
    }
}
