package org.mtm.api;

/** A TCP address, {@code host:port}. */
public record Endpoint(String host, int port) {
    public Endpoint {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("endpoint host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("endpoint port must be 0..65535, got " + port);
        }
    }

    public static Endpoint parse(String text) {
        int colon = text == null ? -1 : text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("endpoint must look like host:port, got '" + text + "'");
        }
        try {
            return new Endpoint(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("endpoint port is not a number in '" + text + "'", e);
        }
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
