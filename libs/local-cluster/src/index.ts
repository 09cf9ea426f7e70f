export { redisAnswers, startEmbeddedRedis, findRedisServer, REDIS_INSTALL_HINT, type EmbeddedRedis } from './embedded-redis';
export { canPinCpus, coresFor, nicedCommand, pinnedCommand } from './cpu-pinning';
export { ProcessSupervisor, type ChildSpec } from './process-supervisor';
