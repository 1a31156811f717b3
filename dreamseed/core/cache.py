"""Django's Redis cache, keeping one redis-py client per connection pool.

The stock backend builds a new `redis.Redis` for every cache call; building one copies redis-py's
table of ~170 response callbacks, which showed up as a measurable share of every request (the
session load alone is one cache call). redis-py clients are thread-safe and hold no connection
of their own (the pool does), so one per pool is enough.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class DreamSeedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
