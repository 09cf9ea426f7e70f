export { runServiceProcess, EXIT_CONFIG_ERROR, type ServiceProcess } from './run-service-process';
