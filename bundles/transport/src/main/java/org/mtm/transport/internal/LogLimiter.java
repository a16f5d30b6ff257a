package org.mtm.transport.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Says whether a repeated warning should be logged now: the first time for a key, then at most once
 * per interval, so a misconfigured peer retrying every second does not flood the log. Thread-safe.
 */
final class LogLimiter {
    private static final int MAX_KEYS = 256;

    private final long intervalNanos;
    private final Map<String, Long> lastLogged = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_KEYS;
        }
    };

    LogLimiter(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    synchronized boolean shouldLog(String key, long nowNanos) {
        Long last = lastLogged.get(key);
        if (last != null && nowNanos - last < intervalNanos) {
            return false;
        }
        lastLogged.put(key, nowNanos);
        return true;
    }
}
