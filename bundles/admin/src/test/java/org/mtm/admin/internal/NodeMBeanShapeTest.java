package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanOperationInfo;
import org.junit.Test;

/**
 * What a JMX client sees of {@code org.mtm:type=Node}: the manual's functions as operations (with their signatures),
 * the status columns as attributes — and no attribute that does something when a console browses it.
 */
public class NodeMBeanShapeTest {

    @Test
    public void theManualsFunctionsAreOperationsAndReadingAttributesChangesNothing() throws Exception {
        NodeManagement mbean = new NodeManagement();
        Map<String, String> operations = new TreeMap<>();
        for (MBeanOperationInfo op : mbean.getMBeanInfo().getOperations()) {
            operations.put(op.getName(), Arrays.stream(op.getSignature()).map(p -> p.getType())
                .reduce((a, b) -> a + "," + b).orElse("") + " -> " + op.getReturnType());
        }
        assertEquals(Map.ofEntries(
            Map.entry("addNode", "java.lang.String -> int"),
            Map.entry("alterSequences", " -> int"),
            Map.entry("checkQuery", "java.lang.String -> javax.management.openmbean.CompositeData"),
            Map.entry("dropNode", "int -> java.lang.String"),
            Map.entry("freeSnapshots", " -> boolean"),
            Map.entry("joinNode", "int,java.lang.String -> void"),
            Map.entry("listInDoubt", " -> javax.management.openmbean.TabularData"),
            Map.entry("makeTableLocal", "java.lang.String -> void"),
            Map.entry("nodes", " -> javax.management.openmbean.TabularData"),
            Map.entry("ping", " -> boolean"),
            Map.entry("status", " -> javax.management.openmbean.CompositeData"),
            Map.entry("takeSnapshots", " -> java.lang.String")), operations);
        for (MBeanAttributeInfo a : mbean.getMBeanInfo().getAttributes()) {
            assertFalse(a.getName() + " is writable", a.isWritable());
            assertFalse("an attribute that would take snapshots: " + a.getName(), a.getName().contains("Snapshot"));
        }
    }

    @Test
    public void withoutTheNodesServicesTheOperationsSayWhatIsMissing() throws Exception {
        NodeManagement mbean = new NodeManagement();
        IllegalStateException e = org.junit.Assert.assertThrows(IllegalStateException.class, mbean::status);
        assertEquals("mtm.status() is not available on this node (a referee, or the mtm consensus component is not active)",
            e.getMessage());
        assertFalse("no snapshots to free", mbean.freeSnapshots());
    }
}
