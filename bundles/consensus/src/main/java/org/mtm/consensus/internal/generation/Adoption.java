package org.mtm.consensus.internal.generation;

import java.util.Optional;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;
import org.mtm.consensus.internal.PeerBeacon;

/**
 * Switching to a higher generation, and going online in it (DESIGN §3, "switch"). The one rule that keeps logs
 * prefixes of each other: a node never goes online in a generation below its {@code lastVote} — it promised the
 * candidate of that vote it would not, and the candidate chose its donors relying on it.
 */
public final class Adoption {

    private Adoption() {
    }

    /**
     * The state after learning that {@code a} was won; empty when this node is already in that generation or a
     * higher one. A member that is a donor goes online at once (the runtime logs its ParallelSafe marker in the same
     * transaction) unless it has since voted for a higher generation; every other member recovers from a donor.
     */
    public static Optional<GenerationState> adopt(int self, GenerationState state, GenerationAnnounce a) {
        Generation gen = a.generation();
        if (gen.num() <= state.current().num()) {
            return Optional.empty();
        }
        boolean online = gen.isMember(self) && a.donors().contains(self) && state.lastVote() <= gen.num();
        // A promise for a newer election stays, and so does a change accepted meanwhile — of the same configured set:
        // once a generation of another set is adopted, the old set's change was decided and this node takes no part in
        // its elections any more (its voter refuses them), so what it accepted there is moot.
        boolean keep = state.lastVote() > gen.num() && gen.configured().equals(state.current().configured());
        return Optional.of(new GenerationState(gen, Math.max(state.lastVote(), gen.num()),
            online ? gen.num() : state.lastOnlineIn(), a.donors(), keep ? state.votedConfigured() : gen.configured(),
            keep ? state.votedIn() : 0));
    }

    /**
     * A peer's heartbeat names a higher generation (its announce may have been lost): adopt it the same way. Empty
     * also for a beacon that cannot describe a generation of this cluster (members or donors outside it).
     */
    public static Optional<GenerationState> fromBeacon(int self, GenerationState state, PeerBeacon beacon,
                                                       NodeSet configured) {
        return beaconGeneration(state, beacon, configured).flatMap(a -> adopt(self, state, a));
    }

    /**
     * The newer generation a peer's heartbeat names, as an announce: with the configured set the beacon carries (a
     * drop changed it), or this node's own when the beacon does not say (an older peer). Empty when it is not newer
     * or cannot describe a generation of this cluster.
     */
    public static Optional<GenerationAnnounce> beaconGeneration(GenerationState state, PeerBeacon beacon,
                                                                NodeSet configured) {
        return beaconGeneration(state, beacon, configured, configured);
    }

    /**
     * @param known the nodes this node's catalog has a row for: a configured set grown by one of them is an addition
     *              (mtm.add_node wrote the row on every node before the election), by any other node not adoptable
     */
    public static Optional<GenerationAnnounce> beaconGeneration(GenerationState state, PeerBeacon beacon,
                                                                NodeSet configured, NodeSet known) {
        NodeSet theirs = beacon.configured().isEmpty() ? configured : beacon.configured();
        if (beacon.generationNum() <= state.current().num() || !theirs.containsAll(beacon.members())
            || !beacon.members().containsAll(beacon.donors())
            || !configured.union(known).containsAll(theirs)) { // grown by a node this one does not know: not adoptable
            return Optional.empty();
        }
        return Optional.of(new GenerationAnnounce(
            new Generation(beacon.generationNum(), beacon.members(), theirs), beacon.donors()));
    }

    /** True when this node may still go online in its current generation (it promised nothing higher). */
    public static boolean mayGoOnline(int self, GenerationState state) {
        return state.current().isMember(self) && state.lastVote() <= state.current().num();
    }

    /**
     * The state once the recovery receiver applied the donor's marker of the current generation: online in it. Left
     * unchanged when a vote for a higher generation forbids going online here (that generation, or a later one,
     * will come instead).
     */
    public static GenerationState recovered(GenerationState state) {
        if (state.lastVote() > state.current().num()) {
            return state;
        }
        return new GenerationState(state.current(), state.lastVote(), state.current().num(), state.donors(),
            state.votedConfigured(), state.votedIn());
    }
}
