package org.mtm.postgres.internal;

import java.lang.reflect.Proxy;
import java.util.Map;

/** {@link LocalPostgres.Config} instances as SCR would build them: defaults plus the given keys. */
final class Configs {
    static final String SECRET = "s3cret";

    private Configs() {
    }

    /** @param values by method name, e.g. {@code database_port} */
    static LocalPostgres.Config config(Map<String, Object> values) {
        return (LocalPostgres.Config) Proxy.newProxyInstance(Configs.class.getClassLoader(),
                new Class<?>[] {LocalPostgres.Config.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "annotationType":
                            return LocalPostgres.Config.class;
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        case "toString":
                            return "Config" + values;
                        default:
                            if (values.containsKey(method.getName())) {
                                return values.get(method.getName());
                            }
                            // nodes always have a secret; a test without one says so with cluster_secret = ""
                            return method.getName().equals("cluster_secret") ? SECRET : method.getDefaultValue();
                    }
                });
    }
}
