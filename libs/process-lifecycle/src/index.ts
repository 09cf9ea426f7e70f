export { runServiceProcess, EXIT_CONFIG_ERROR, EXIT_PORT_IN_USE, FATAL_EXIT_CODES, type ServiceProcess } from './run-service-process';
