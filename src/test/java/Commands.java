import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Every script's command by its alias (the catalog's names), for in-process runs in tests. */
final class Commands {
    static final Map<String, Supplier<Object>> ALL = new LinkedHashMap<>();

    static {
        ALL.put("lab", Lab::new);
        ALL.put("check-logical-replication", CheckLogicalReplication::new);
        ALL.put("replica-identity", ReplicaIdentity::new);
        ALL.put("publication", CreatePublication::new);
        ALL.put("replication-role", CreateReplicationRole::new);
        ALL.put("grants", GrantAccess::new);
        ALL.put("stream-check", StreamCheck::new);
        ALL.put("tap", Tap::new);
        ALL.put("loadgen", LoadGen::new);
        ALL.put("ip-allow", AllowMaterializeIps::new);
        ALL.put("connection-details", ConnectionDetails::new);
        ALL.put("cluster", CreateCluster::new);
        ALL.put("connection", CreateConnection::new);
        ALL.put("source", CreateSource::new);
        ALL.put("monitor", MonitorIngestion::new);
        ALL.put("right-size", RightSize::new);
        ALL.put("explore", Explore::new);
        ALL.put("runbook", Runbook::new);
        ALL.put("teardown", Teardown::new);
        ALL.put("doctor", Doctor::new);
        ALL.put("watch", Watch::new);
        ALL.put("fleet", Fleet::new);
        ALL.put("evolve", Evolve::new);
        ALL.put("rebuild", Rebuild::new);
        ALL.put("guard", Guard::new);
        ALL.put("adapt", Adapt::new);
    }

    private Commands() {}

    static Object of(String alias) {
        Supplier<Object> s = ALL.get(alias);
        if (s == null) {
            throw new IllegalArgumentException("no command for alias " + alias);
        }
        return s.get();
    }
}
