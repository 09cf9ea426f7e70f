export { defineRedisScript, type RedisScript, type ScriptArgument, type ScriptFlag } from './redis-script';
