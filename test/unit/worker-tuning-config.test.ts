import { loadConfig } from '../../src/config';

describe('worker tuning configuration', () => {
  it('starts runs eagerly and leaves every slot, eager dispatch and the cache to the SDK unless set', () => {
    expect(loadConfig({}).workerTuning).toEqual({
      eagerWorkflowStart: true,
      eagerActivities: undefined,
      workflowTaskSlots: undefined,
      activitySlots: undefined,
      localActivitySlots: undefined,
      cachedWorkflows: undefined,
    });
  });

  it('reads each lever', () => {
    const config = loadConfig({
      TRELLIS_EAGER_WORKFLOW_START: 'false',
      TRELLIS_WORKER_EAGER_ACTIVITIES: '0',
      TRELLIS_WORKER_WORKFLOW_TASK_SLOTS: '80',
      TRELLIS_WORKER_ACTIVITY_SLOTS: '200',
      TRELLIS_WORKER_LOCAL_ACTIVITY_SLOTS: '150',
      TRELLIS_WORKER_CACHED_WORKFLOWS: '0',
    });
    expect(config.workerTuning).toEqual({ eagerWorkflowStart: false, eagerActivities: 0, workflowTaskSlots: 80, activitySlots: 200, localActivitySlots: 150, cachedWorkflows: 0 });
  });

  it('refuses values the SDK would refuse, naming the variable', () => {
    expect(() => loadConfig({ TRELLIS_WORKER_WORKFLOW_TASK_SLOTS: '1' })).toThrow(/TRELLIS_WORKER_WORKFLOW_TASK_SLOTS: must be at least 2/);
    expect(() => loadConfig({ TRELLIS_WORKER_ACTIVITY_SLOTS: '0' })).toThrow(/TRELLIS_WORKER_ACTIVITY_SLOTS/);
    expect(() => loadConfig({ TRELLIS_WORKER_EAGER_ACTIVITIES: '-1' })).toThrow(/TRELLIS_WORKER_EAGER_ACTIVITIES/);
    expect(() => loadConfig({ TRELLIS_EAGER_WORKFLOW_START: 'yes' })).toThrow(/TRELLIS_EAGER_WORKFLOW_START/);
  });
});
