export { redisAnswers, startEmbeddedRedis, findRedisServer, type EmbeddedRedis } from './embedded-redis';
export { canPinCpus, coresFor, nicedCommand, pinnedCommand } from './cpu-pinning';
export { ProcessSupervisor, type ChildSpec, type CommandSpec, type PortSharingSpec } from './process-supervisor';
export { forkSharingPort } from './port-sharing';
