package org.mtm.gateway.internal.session;

import java.util.concurrent.ThreadFactory;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The gateway's sockets: Netty's native epoll transport where it is installed and works (Linux; fewer system calls
 * and no selector bookkeeping per relayed message), Java NIO otherwise. The epoll classes are an optional import:
 * without them this falls back to NIO.
 */
final class NettyTransport {
    /** Whether the native epoll transport is used. */
    static final boolean EPOLL = epollAvailable();

    private NettyTransport() {
    }

    private static boolean epollAvailable() {
        if (Boolean.getBoolean("mtm.gateway.nio")) {
            return false;
        }
        try {
            return io.netty.channel.epoll.Epoll.isAvailable();
        } catch (LinkageError absent) {
            return false;
        }
    }

    static EventLoopGroup group(int threads, ThreadFactory threadFactory) {
        return EPOLL ? new io.netty.channel.epoll.EpollEventLoopGroup(threads, threadFactory)
                : new NioEventLoopGroup(threads, threadFactory);
    }

    static Class<? extends ServerChannel> serverChannel() {
        return EPOLL ? io.netty.channel.epoll.EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    static Class<? extends SocketChannel> socketChannel() {
        return EPOLL ? io.netty.channel.epoll.EpollSocketChannel.class : NioSocketChannel.class;
    }

    static String name() {
        return EPOLL ? "epoll" : "nio";
    }
}
