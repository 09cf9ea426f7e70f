export { defineRedisScript, type RedisScript, type ScriptArgument } from './redis-script';
