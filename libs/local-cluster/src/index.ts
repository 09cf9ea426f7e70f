export { redisAnswers, startEmbeddedRedis, findRedisServer, type EmbeddedRedis } from './embedded-redis';
export { canPinCpus, coresFor, nicedCommand, pinnedCommand } from './cpu-pinning';
export { ProcessSupervisor, type ChildSpec } from './process-supervisor';
