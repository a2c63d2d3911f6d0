/** The coordinator: its composition root and services (the pure state machine and scheduler live in state/ and scheduler/). */
export {
  type CoordinatorOptions,
  coordinatorOptionsOf,
  type RunningCoordinator,
  runCoordinatorFromConfig,
  runCoordinatorProcess,
  startCoordinator,
} from './main.ts';
export { CoordinatorService, type CoordinatorServiceDeps } from './service/coordinator-service.ts';
export { healthReport, type HealthReport } from './service/http-api.ts';
