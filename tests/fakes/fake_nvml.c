/*
 * A fake libnvidia-ml.so.1 for tests: the real `pynvml` bindings (nvidia-ml-py) load it through
 * ctypes exactly as they load NVIDIA's driver, so the sensor's whole path is exercised without a GPU.
 *
 * Build (tests/fixtures/fake_nvml.py does it once per variant per test session):
 *   cc -shared -fPIC -O2 -o libnvidia-ml.so.1 fake_nvml.c -lm -pthread [variant flags]
 * Variant flags leave a symbol out, so pynvml raises NVMLError_FunctionNotFound for it:
 *   -DFAKE_NO_FIELD_VALUES     no nvmlDeviceGetFieldValues (drivers older than the instant field)
 *   -DFAKE_NO_TOTAL_ENERGY     no nvmlDeviceGetTotalEnergyConsumption
 *   -DFAKE_NO_PROCESSES_V3     no nvmlDevice{Compute,Graphics}RunningProcesses_v3 (older driver)
 *
 * The scenario file named by env FAKE_NVML_SCENARIO is (re)read at every nvmlInit*. It is text,
 * one `key value` per line, '#' starts a comment. Global keys:
 *   anchor <s>            CLOCK_MONOTONIC seconds (= Python time.monotonic()) where t = 0
 *   driver_version <str>  init_error <nvmlReturn>  (nvmlInit fails with that code)
 * `device` opens a device block (indices in order); keys inside a block:
 *   name <rest of line>   uuid <str>   power_limit_w <W>   memory_total_mb <MiB>   memory_used_mb <MiB>
 *   energy counter|unsupported|frozen   (frozen: present, returns counter_offset_mj forever)
 *   counter_offset_mj <mJ>  counter value at t = 0 (the driver was loaded long before)
 *   energy_update_s <s>   counter only moves every <s> seconds (0 = continuous)
 *   counter_reset_at_s <s>  from then the counter restarts from 0, as after a driver reload
 *   instant_field 0|1     NVML_FI_DEV_POWER_INSTANT answers, or per-value NOT_SUPPORTED
 *   energy_field 0|1      NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION (83) answers as the counter
 *                         function does (default), or per-value NOT_SUPPORTED
 *   gpu_lost_after_s <s>  from then every call on this device returns NVML_ERROR_GPU_IS_LOST
 *   loop 0|1              the trace repeats; otherwise its last segment lasts forever
 *   architecture <n>      nvmlDeviceArchitecture_t (7 = Ampere, 8 = Ada; default 8). Before
 *                         Ampere, nvmlDeviceGetPowerUsage is instantaneous and field 185 absent
 *   segment <duration s> <watts> <gpu util %>   (repeatable: a piecewise-constant power trace)
 *   procs_file <path>     lines `compute|graphics <pid> <used MiB>`; re-read whenever it changes
 *                         (used MiB < 0: NVML_VALUE_NOT_AVAILABLE, as the driver says under WDDM)
 *                         and an optional 4th field `<held W>`: what that process keeps the board
 *                         drawing above the trace while it is listed (a model left loaded). The
 *                         fake notes the sum's changes with their time, so power, the 1 s average
 *                         and the energy counter all include it from the moment it is noticed.
 *                         and an optional 5th field `<SM %>` (default 0): the process's share of
 *                         the SM over time, what nvmlDeviceGetProcessUtilization reports for it
 *   process_lists 0|1     0: the RunningProcesses functions answer NOT_SUPPORTED (WDDM without
 *                         process info, a PID namespace hiding host pids)
 *   process_util 0|1      0: nvmlDeviceGetProcessUtilization answers NOT_SUPPORTED
 *   power_samples 0|1     1: nvmlDeviceGetSamples(NVML_TOTAL_POWER_SAMPLES) answers from the
 *                         driver's buffer of power samples (default 0: NOT_SUPPORTED)
 *   power_sample_ms <ms>  their period (default 20: nvidia-smi shows ~119 samples over ~2.4 s);
 *                         the buffer keeps the last POWER_SAMPLES_KEPT of them
 * Before t = 0 the device draws its first segment's power (so the 1 s average is defined).
 *
 * Power samples follow nvmlDeviceGetSamples' contract: samples on a fixed grid of the trace's
 * clock, each the trace's instantaneous power (+ what processes hold) in mW, stamped with the
 * CPU time in microseconds (CLOCK_REALTIME); only those newer than lastSeenTimeStamp, oldest
 * first; a NULL buffer asks how many there are; NVML_ERROR_NOT_FOUND when there is none.
 *
 * Per-process utilisation follows NVML's contract: one sample per process that had non-zero SM
 * use, stamped with the CPU time in microseconds (CLOCK_REALTIME), only when newer than the
 * caller's lastSeenTimeStamp; NVML_ERROR_NOT_FOUND when there is none. The sample's smUtil is the
 * process's SM % scaled by the trace's utilisation now (segment util / 100), so an idle stretch
 * of the trace reports no process use: the trace drives it.
 *
 * Ground truth: nvmlDeviceGetTotalEnergyConsumption = counter_offset_mj + exact trace integral in
 * mJ since the anchor. nvmlDeviceGetPowerUsage = 1 s moving average of the trace (as on Ampere+);
 * field 186 (POWER_INSTANT) = the trace value now, field 185 (POWER_AVERAGE) = the 1 s average,
 * field 83 (TOTAL_ENERGY_CONSUMPTION) = the counter, as the function gives it.
 * (Per NVIDIA's nvml.h: "On Ampere (except GA100) or newer GPUs, the API returns power averaged
 * over 1 sec interval"; NVML_FI_DEV_POWER_AVERAGE is the same 1 s average, Ampere or newer.)
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_UNKNOWN 999

#define FI_TOTAL_ENERGY 83
#define FI_POWER_AVERAGE 185
#define FI_POWER_INSTANT 186
#define VALUE_TYPE_UNSIGNED_INT 1
#define VALUE_TYPE_UNSIGNED_LONG_LONG 3
#define ARCH_AMPERE 7

#define MAX_DEVICES 8
#define MAX_SEGMENTS 4096
#define MAX_PROCS 64
#define MAX_HELD 256

enum energy_mode { ENERGY_COUNTER, ENERGY_UNSUPPORTED, ENERGY_FROZEN };

typedef struct {
    double duration, watts, util;
} segment_t;

typedef struct {
    unsigned int pid;
    unsigned long long used_bytes;
    double held_w;
    int graphics;
    double sm_pct;
} proc_t;

typedef struct fake_device {
    char name[96];
    char uuid[96];
    double power_limit_w;
    unsigned long long mem_total, mem_base_used;
    segment_t segs[MAX_SEGMENTS];
    int nseg, loop;
    double period, period_j;
    /* where each segment starts (s) and the trace's joules before it: a read looks its moment up
     * by bisection instead of walking the trace (a real driver pays nothing per trace segment,
     * and tools are measured on their own cost) */
    double seg_start[MAX_SEGMENTS], seg_j[MAX_SEGMENTS];
    int energy_mode, instant_field, energy_field, process_lists, process_util, power_samples;
    double sample_period;
    unsigned int architecture;
    double lost_after, reset_at, offset_mj, energy_quantum;
    char procs_path[4096];
    proc_t procs[MAX_PROCS];
    int nprocs;
    /* identity of the procs file last parsed: a change of any of these triggers a re-read */
    ino_t p_ino;
    struct timespec p_mtim;
    off_t p_size;
    int p_seen;
    /* watts held by the listed processes, as a step function: from held_t[i] on, held_w[i] */
    double held_t[MAX_HELD], held_w[MAX_HELD];
    int nheld;
} fake_device_t;

typedef fake_device_t *nvmlDevice_t;

/* Layouts as pynvml declares them (c_nvmlMemory_t, c_nvmlUtilization_t, c_nvmlProcessInfo_v2_t
 * which pynvml also uses for _v3, c_nvmlFieldValue_t). */
typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;
typedef union {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    long long sllVal;
    int siVal;
    unsigned short usVal;
} nvmlValue_t;
typedef struct {
    unsigned long long timeStamp;
    nvmlValue_t sampleValue;
} nvmlSample_t;
typedef struct {
    uint32_t fieldId, scopeId;
    int64_t timestamp, latencyUsec;
    unsigned int valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fake_device_t devices[MAX_DEVICES];
static int ndevices;
static int init_count;
static double anchor;
static char driver_version[80] = "550.54.14";
static int init_error;

static double now_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src);
}

static void reset_device(fake_device_t *d, int index) {
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof d->name, "NVIDIA Fake GPU %d", index);
    snprintf(d->uuid, sizeof d->uuid, "GPU-fake0000-0000-0000-0000-%012d", index);
    d->power_limit_w = 450.0;
    d->mem_total = 24564ULL << 20;
    d->mem_base_used = 300ULL << 20;
    d->instant_field = 1;
    d->energy_field = 1;
    d->process_lists = 1;
    d->process_util = 1;
    d->sample_period = 0.020;
    d->architecture = 8;
    d->lost_after = -1.0;
    d->reset_at = -1.0;
}

static int load_scenario(void) {
    const char *path = getenv("FAKE_NVML_SCENARIO");
    if (path == NULL || *path == '\0') return NVML_ERROR_DRIVER_NOT_LOADED;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "fake_nvml: cannot open scenario %s\n", path);
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    ndevices = 0;
    anchor = now_monotonic();
    init_error = 0;
    copy_str(driver_version, sizeof driver_version, "550.54.14");
    fake_device_t *d = NULL;
    char line[8192];
    int rc = NVML_SUCCESS;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *key = line + strspn(line, " \t");
        if (*key == '\0' || *key == '#') continue;
        char *val = key + strcspn(key, " \t");
        if (*val != '\0') *val++ = '\0';
        val += strspn(val, " \t");
        if (strcmp(key, "anchor") == 0) anchor = atof(val);
        else if (strcmp(key, "driver_version") == 0) copy_str(driver_version, sizeof driver_version, val);
        else if (strcmp(key, "init_error") == 0) init_error = atoi(val);
        else if (strcmp(key, "device") == 0) {
            if (ndevices >= MAX_DEVICES) { rc = NVML_ERROR_UNKNOWN; break; }
            d = &devices[ndevices];
            reset_device(d, ndevices);
            ndevices++;
        } else if (d == NULL) {
            fprintf(stderr, "fake_nvml: key %s outside a device block\n", key);
            rc = NVML_ERROR_UNKNOWN;
            break;
        } else if (strcmp(key, "name") == 0) copy_str(d->name, sizeof d->name, val);
        else if (strcmp(key, "uuid") == 0) copy_str(d->uuid, sizeof d->uuid, val);
        else if (strcmp(key, "power_limit_w") == 0) d->power_limit_w = atof(val);
        else if (strcmp(key, "memory_total_mb") == 0) d->mem_total = strtoull(val, NULL, 10) << 20;
        else if (strcmp(key, "memory_used_mb") == 0) d->mem_base_used = strtoull(val, NULL, 10) << 20;
        else if (strcmp(key, "energy") == 0) {
            d->energy_mode = strcmp(val, "unsupported") == 0 ? ENERGY_UNSUPPORTED
                             : strcmp(val, "frozen") == 0    ? ENERGY_FROZEN
                                                             : ENERGY_COUNTER;
        } else if (strcmp(key, "counter_offset_mj") == 0) d->offset_mj = atof(val);
        else if (strcmp(key, "energy_update_s") == 0) d->energy_quantum = atof(val);
        else if (strcmp(key, "counter_reset_at_s") == 0) d->reset_at = atof(val);
        else if (strcmp(key, "instant_field") == 0) d->instant_field = atoi(val);
        else if (strcmp(key, "energy_field") == 0) d->energy_field = atoi(val);
        else if (strcmp(key, "process_lists") == 0) d->process_lists = atoi(val);
        else if (strcmp(key, "process_util") == 0) d->process_util = atoi(val);
        else if (strcmp(key, "power_samples") == 0) d->power_samples = atoi(val);
        else if (strcmp(key, "power_sample_ms") == 0) d->sample_period = atof(val) / 1000.0;
        else if (strcmp(key, "gpu_lost_after_s") == 0) d->lost_after = atof(val);
        else if (strcmp(key, "loop") == 0) d->loop = atoi(val);
        else if (strcmp(key, "architecture") == 0) d->architecture = (unsigned int)atoi(val);
        else if (strcmp(key, "procs_file") == 0) copy_str(d->procs_path, sizeof d->procs_path, val);
        else if (strcmp(key, "segment") == 0) {
            segment_t s = {0, 0, 0};
            if (d->nseg >= MAX_SEGMENTS || sscanf(val, "%lf %lf %lf", &s.duration, &s.watts, &s.util) < 2 ||
                s.duration <= 0) {
                fprintf(stderr, "fake_nvml: bad or too many segments: %s\n", val);
                rc = NVML_ERROR_UNKNOWN;
                break;
            }
            d->seg_start[d->nseg] = d->period;
            d->seg_j[d->nseg] = d->period_j;
            d->segs[d->nseg++] = s;
            d->period += s.duration;
            d->period_j += s.duration * s.watts;
        } else {
            fprintf(stderr, "fake_nvml: unknown key %s\n", key);
            rc = NVML_ERROR_UNKNOWN;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ---- the trace ---------------------------------------------------------------------------- */

/* The last segment starting at or before t (0 <= t): segment i holds [start_i, start_i+1). */
static int segment_index(const fake_device_t *d, double t) {
    int lo = 0, hi = d->nseg - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->seg_start[mid] <= t) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static const segment_t *segment_at(const fake_device_t *d, double t) {
    static const segment_t idle = {1.0, 0.0, 0.0};
    if (d->nseg == 0) return &idle;
    if (t < 0) return &d->segs[0];
    if (d->loop) t -= floor(t / d->period) * d->period;
    return &d->segs[segment_index(d, t)];
}

/* Joules of the trace alone from t = 0 to t (negative for t < 0). */
static double trace_integral_j(const fake_device_t *d, double t) {
    if (d->nseg == 0) return 0.0;
    if (t < 0) return d->segs[0].watts * t;
    double acc = 0.0;
    if (d->loop) {
        double n = floor(t / d->period);
        acc = n * d->period_j;
        t -= n * d->period;
    }
    /* The segment holding t (a boundary belongs to the segment it ends: same integral);
     * past the end the last segment goes on. */
    int i = segment_index(d, t);
    return acc + d->seg_j[i] + d->segs[i].watts * (t - d->seg_start[i]);
}

/* Watts the processes hold above the trace at t, and their joules from t = 0 to t. */
static double held_at(const fake_device_t *d, double t) {
    double w = 0.0;
    for (int i = 0; i < d->nheld && d->held_t[i] <= t; i++) w = d->held_w[i];
    return w;
}

static double held_integral_j(const fake_device_t *d, double t) {
    double acc = 0.0;
    for (int i = 0; i < d->nheld && d->held_t[i] < t; i++) {
        double end = i + 1 < d->nheld && d->held_t[i + 1] < t ? d->held_t[i + 1] : t;
        double start = d->held_t[i] > 0 ? d->held_t[i] : 0.0;
        if (end > start) acc += d->held_w[i] * (end - start);
    }
    return acc;
}

/* Joules the board drew from t = 0 to t: the trace plus what processes held. */
static double integral_j(const fake_device_t *d, double t) {
    return trace_integral_j(d, t) + held_integral_j(d, t);
}

static double trace_t(void) { return now_monotonic() - anchor; }

static void note_held(fake_device_t *d) {
    double sum = 0.0;
    for (int i = 0; i < d->nprocs; i++) sum += d->procs[i].held_w;
    double last = d->nheld > 0 ? d->held_w[d->nheld - 1] : 0.0;
    if (sum == last) return;
    if (d->nheld == MAX_HELD) d->nheld--; /* a test that changes this 256 times: keep the latest */
    d->held_t[d->nheld] = trace_t();
    d->held_w[d->nheld] = sum;
    d->nheld++;
}

static void reload_procs(fake_device_t *d) {
    struct stat st;
    if (d->procs_path[0] == '\0' || stat(d->procs_path, &st) != 0) {
        d->nprocs = 0;
        d->p_seen = 0;
        note_held(d);
        return;
    }
    if (d->p_seen && st.st_ino == d->p_ino && st.st_size == d->p_size &&
        st.st_mtim.tv_sec == d->p_mtim.tv_sec && st.st_mtim.tv_nsec == d->p_mtim.tv_nsec)
        return;
    d->nprocs = 0;
    d->p_seen = 1;
    d->p_ino = st.st_ino;
    d->p_size = st.st_size;
    d->p_mtim = st.st_mtim;
    FILE *f = fopen(d->procs_path, "r");
    if (f == NULL) return;
    char kind[32], text[256];
    unsigned int pid;
    double used_mb, held_w, sm;
    while (d->nprocs < MAX_PROCS && fgets(text, sizeof text, f) != NULL) {
        held_w = 0.0;
        sm = 0.0;
        if (sscanf(text, "%31s %u %lf %lf %lf", kind, &pid, &used_mb, &held_w, &sm) < 3) continue;
        proc_t *p = &d->procs[d->nprocs++];
        p->pid = pid;
        p->held_w = held_w;
        /* A negative figure: the driver cannot tell (NVML_VALUE_NOT_AVAILABLE, as under WDDM). */
        p->used_bytes = used_mb < 0 ? ~0ULL : (unsigned long long)(used_mb * 1048576.0);
        p->graphics = strcmp(kind, "graphics") == 0;
        p->sm_pct = sm;
    }
    fclose(f);
    note_held(d);
}

/* Every device entry point starts with this: initialised, valid handle, not fallen off the bus. */
static nvmlReturn_t check_device(nvmlDevice_t dev) {
    if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
    if (dev == NULL || dev < devices || dev >= devices + ndevices) return NVML_ERROR_INVALID_ARGUMENT;
    if (dev->lost_after >= 0 && trace_t() >= dev->lost_after) return NVML_ERROR_GPU_IS_LOST;
    return NVML_SUCCESS;
}

#define LOCKED(expr)                                                                              \
    do {                                                                                          \
        pthread_mutex_lock(&lock);                                                                \
        nvmlReturn_t rc_ = (expr);                                                                \
        pthread_mutex_unlock(&lock);                                                              \
        return rc_;                                                                               \
    } while (0)

#define DEVICE_GUARD(dev)                                                                         \
    nvmlReturn_t guard_ = check_device(dev);                                                      \
    if (guard_ != NVML_SUCCESS) return guard_

/* ---- init / system ------------------------------------------------------------------------ */

static nvmlReturn_t do_init(void) {
    int rc = load_scenario();
    if (rc != NVML_SUCCESS) return rc;
    if (init_error != 0) return init_error;
    init_count++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    LOCKED(do_init());
}
nvmlReturn_t nvmlInit_v2(void) { LOCKED(do_init()); }
nvmlReturn_t nvmlInit(void) { LOCKED(do_init()); }

static nvmlReturn_t do_shutdown(void) {
    if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
    init_count--;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlShutdown(void) { LOCKED(do_shutdown()); }

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Fake NVML error";
    }
}

static nvmlReturn_t copy_out(char *buf, unsigned int len, const char *src) {
    if (buf == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

static nvmlReturn_t do_driver_version(char *buf, unsigned int len) {
    if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
    return copy_out(buf, len, driver_version);
}
nvmlReturn_t nvmlSystemGetDriverVersion(char *buf, unsigned int len) { LOCKED(do_driver_version(buf, len)); }

static nvmlReturn_t do_count(unsigned int *count) {
    if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = (unsigned int)ndevices;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) { LOCKED(do_count(count)); }
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { LOCKED(do_count(count)); }

static nvmlReturn_t do_handle(unsigned int index, nvmlDevice_t *out) {
    if (init_count == 0) return NVML_ERROR_UNINITIALIZED;
    if (out == NULL || index >= (unsigned int)ndevices) return NVML_ERROR_INVALID_ARGUMENT;
    DEVICE_GUARD(&devices[index]);
    *out = &devices[index];
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *out) { LOCKED(do_handle(index, out)); }
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *out) { LOCKED(do_handle(index, out)); }

/* ---- device identity ---------------------------------------------------------------------- */

static nvmlReturn_t do_name(nvmlDevice_t dev, char *buf, unsigned int len) {
    DEVICE_GUARD(dev);
    return copy_out(buf, len, dev->name);
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char *buf, unsigned int len) { LOCKED(do_name(dev, buf, len)); }

static nvmlReturn_t do_uuid(nvmlDevice_t dev, char *buf, unsigned int len) {
    DEVICE_GUARD(dev);
    return copy_out(buf, len, dev->uuid);
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char *buf, unsigned int len) { LOCKED(do_uuid(dev, buf, len)); }

static nvmlReturn_t do_limit(nvmlDevice_t dev, unsigned int *mw) {
    DEVICE_GUARD(dev);
    if (mw == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *mw = (unsigned int)llround(dev->power_limit_w * 1000.0);
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t dev, unsigned int *mw) { LOCKED(do_limit(dev, mw)); }
nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t dev, unsigned int *mw) { LOCKED(do_limit(dev, mw)); }

/* ---- power and energy --------------------------------------------------------------------- */

static unsigned int average_mw(fake_device_t *d, double t) {
    double w = integral_j(d, t) - integral_j(d, t - 1.0);
    return (unsigned int)llround(w > 0 ? w * 1000.0 : 0.0);
}

static unsigned int instant_mw(fake_device_t *d, double t) {
    double w = segment_at(d, t)->watts + held_at(d, t);
    return (unsigned int)llround(w > 0 ? w * 1000.0 : 0.0);
}

static nvmlReturn_t do_power_usage(nvmlDevice_t dev, unsigned int *mw) {
    DEVICE_GUARD(dev);
    if (mw == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    reload_procs(dev);
    *mw = dev->architecture >= ARCH_AMPERE ? average_mw(dev, trace_t()) : instant_mw(dev, trace_t());
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t dev, unsigned int *mw) { LOCKED(do_power_usage(dev, mw)); }

/* The driver's buffer of power samples (nvmlDeviceGetSamples, NVML_TOTAL_POWER_SAMPLES = 0). */
#define POWER_SAMPLES_KEPT 120
static nvmlReturn_t do_samples(nvmlDevice_t dev, int type, unsigned long long last_seen,
                               unsigned int *val_type, unsigned int *count, nvmlSample_t *out) {
    DEVICE_GUARD(dev);
    if (count == NULL || val_type == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (type != 0 || !dev->power_samples || dev->sample_period <= 0) return NVML_ERROR_NOT_SUPPORTED;
    reload_procs(dev);
    double t = trace_t(), p = dev->sample_period;
    /* A sample's stamp is fixed once taken: CLOCK_REALTIME of its moment, the clocks' offset
     * read once (reading both clocks at every call would move a stamp by a microsecond). */
    static double wall_offset = -1.0;
    if (wall_offset < 0) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        wall_offset = (double)wall.tv_sec + (double)wall.tv_nsec * 1e-9 - now_monotonic();
    }
    long long newest = (long long)floor(t / p);
    long long first = newest - POWER_SAMPLES_KEPT + 1;
#define SAMPLE_STAMP(k) ((unsigned long long)llround((wall_offset + anchor + (double)(k) * p) * 1e6))
    while (first <= newest && SAMPLE_STAMP(first) <= last_seen) first++;
    unsigned int n = (unsigned int)(newest - first + 1);
    *val_type = VALUE_TYPE_UNSIGNED_INT;
    if (n == 0) return NVML_ERROR_NOT_FOUND;
    if (out == NULL) {
        *count = n;
        return NVML_SUCCESS;
    }
    if (*count < n) n = *count; /* as many as fit, oldest first */
    for (unsigned int i = 0; i < n; i++) {
        long long k = first + (long long)i;
        out[i].timeStamp = SAMPLE_STAMP(k);
        out[i].sampleValue.ullVal = 0;
        out[i].sampleValue.uiVal = instant_mw(dev, (double)k * p);
    }
    *count = n;
    return NVML_SUCCESS;
#undef SAMPLE_STAMP
}
nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t dev, int type, unsigned long long last_seen,
                                  unsigned int *val_type, unsigned int *count, nvmlSample_t *out) {
    LOCKED(do_samples(dev, type, last_seen, val_type, count, out));
}

#ifndef FAKE_NO_TOTAL_ENERGY
/* The counter's value now (mJ), for the function and for field 83 alike. */
static nvmlReturn_t energy_mj(fake_device_t *dev, unsigned long long *mj) {
    if (dev->energy_mode == ENERGY_UNSUPPORTED) return NVML_ERROR_NOT_SUPPORTED;
    double value = dev->offset_mj;
    if (dev->energy_mode == ENERGY_COUNTER) {
        double t = trace_t();
        if (dev->energy_quantum > 0) t = floor(t / dev->energy_quantum) * dev->energy_quantum;
        if (dev->reset_at >= 0 && t >= dev->reset_at)
            value = 1000.0 * (integral_j(dev, t) - integral_j(dev, dev->reset_at));
        else
            value = dev->offset_mj + 1000.0 * integral_j(dev, t);
    }
    *mj = value > 0 ? (unsigned long long)llround(value) : 0ULL;
    return NVML_SUCCESS;
}

static nvmlReturn_t do_energy(nvmlDevice_t dev, unsigned long long *mj) {
    DEVICE_GUARD(dev);
    if (mj == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    reload_procs(dev);
    return energy_mj(dev, mj);
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t dev, unsigned long long *mj) {
    LOCKED(do_energy(dev, mj));
}
#endif

#ifndef FAKE_NO_FIELD_VALUES
static nvmlReturn_t do_fields(nvmlDevice_t dev, int count, nvmlFieldValue_t *values) {
    DEVICE_GUARD(dev);
    if (values == NULL || count < 0) return NVML_ERROR_INVALID_ARGUMENT;
    reload_procs(dev);
    double t = trace_t();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    for (int i = 0; i < count; i++) {
        nvmlFieldValue_t *v = &values[i];
        v->timestamp = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
        v->latencyUsec = 0;
        v->valueType = VALUE_TYPE_UNSIGNED_INT;
        v->value.ullVal = 0;
        if (v->fieldId == FI_TOTAL_ENERGY) {
            /* The counter as a field: what nvmlDeviceGetTotalEnergyConsumption returns, where
             * the driver has that function; NOT_SUPPORTED where the counter is. */
#ifdef FAKE_NO_TOTAL_ENERGY
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
#else
            v->valueType = VALUE_TYPE_UNSIGNED_LONG_LONG;
            v->nvmlReturn = energy_mj(dev, &v->value.ullVal);
#endif
            if (!dev->energy_field) v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        } else if (v->fieldId == FI_POWER_INSTANT && dev->instant_field) {
            v->value.uiVal = instant_mw(dev, t);
            v->nvmlReturn = NVML_SUCCESS;
        } else if (v->fieldId == FI_POWER_AVERAGE && dev->architecture >= ARCH_AMPERE) {
            v->value.uiVal = average_mw(dev, t);
            v->nvmlReturn = NVML_SUCCESS;
        } else {
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        }
    }
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t dev, int count, nvmlFieldValue_t *values) {
    LOCKED(do_fields(dev, count, values));
}
#endif

static nvmlReturn_t do_arch(nvmlDevice_t dev, unsigned int *arch) {
    DEVICE_GUARD(dev);
    if (arch == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *arch = dev->architecture;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t dev, unsigned int *arch) { LOCKED(do_arch(dev, arch)); }

/* ---- activity ----------------------------------------------------------------------------- */

static nvmlReturn_t do_util(nvmlDevice_t dev, nvmlUtilization_t *u) {
    DEVICE_GUARD(dev);
    if (u == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    u->gpu = (unsigned int)llround(segment_at(dev, trace_t())->util);
    u->memory = u->gpu / 2;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u) { LOCKED(do_util(dev, u)); }

static nvmlReturn_t do_memory(nvmlDevice_t dev, nvmlMemory_t *m) {
    DEVICE_GUARD(dev);
    if (m == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    reload_procs(dev);
    unsigned long long used = dev->mem_base_used;
    for (int i = 0; i < dev->nprocs; i++)
        if (dev->procs[i].used_bytes != ~0ULL) used += dev->procs[i].used_bytes;
    if (used > dev->mem_total) used = dev->mem_total;
    m->total = dev->mem_total;
    m->used = used;
    m->free = dev->mem_total - used;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *m) { LOCKED(do_memory(dev, m)); }

/* NVML's two-call protocol: a short buffer gets INSUFFICIENT_SIZE and the count needed. */
static nvmlReturn_t do_procs(nvmlDevice_t dev, unsigned int *count, nvmlProcessInfo_t *infos, int graphics) {
    DEVICE_GUARD(dev);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!dev->process_lists) return NVML_ERROR_NOT_SUPPORTED;
    reload_procs(dev);
    unsigned int needed = 0;
    for (int i = 0; i < dev->nprocs; i++) needed += dev->procs[i].graphics == graphics;
    if (*count < needed || (infos == NULL && needed > 0)) {
        *count = needed;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    unsigned int n = 0;
    for (int i = 0; i < dev->nprocs; i++) {
        if (dev->procs[i].graphics != graphics) continue;
        infos[n].pid = dev->procs[i].pid;
        infos[n].usedGpuMemory = dev->procs[i].used_bytes;
        infos[n].gpuInstanceId = 0xFFFFFFFFu;
        infos[n].computeInstanceId = 0xFFFFFFFFu;
        n++;
    }
    *count = n;
    return NVML_SUCCESS;
}

#define PROC_ENTRY(fn, graphics)                                                                  \
    nvmlReturn_t fn(nvmlDevice_t dev, unsigned int *count, nvmlProcessInfo_t *infos) {            \
        LOCKED(do_procs(dev, count, infos, graphics));                                           \
    }
PROC_ENTRY(nvmlDeviceGetComputeRunningProcesses_v2, 0)
PROC_ENTRY(nvmlDeviceGetGraphicsRunningProcesses_v2, 1)
#ifndef FAKE_NO_PROCESSES_V3
PROC_ENTRY(nvmlDeviceGetComputeRunningProcesses_v3, 0)
PROC_ENTRY(nvmlDeviceGetGraphicsRunningProcesses_v3, 1)
#endif

/* Per-process utilisation, NVML's two-call protocol: NULL samples -> INSUFFICIENT_SIZE + count. */
static nvmlReturn_t do_proc_util(nvmlDevice_t dev, nvmlProcessUtilizationSample_t *samples,
                                 unsigned int *count, unsigned long long last_seen) {
    DEVICE_GUARD(dev);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!dev->process_util) return NVML_ERROR_NOT_SUPPORTED;
    reload_procs(dev);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    unsigned long long stamp = (unsigned long long)wall.tv_sec * 1000000ULL + wall.tv_nsec / 1000;
    double scale = segment_at(dev, trace_t())->util / 100.0;
    unsigned int needed = 0;
    for (int i = 0; i < dev->nprocs; i++) needed += llround(dev->procs[i].sm_pct * scale) > 0;
    if (needed == 0 || stamp <= last_seen) return NVML_ERROR_NOT_FOUND;
    if (samples == NULL || *count < needed) {
        *count = needed;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    unsigned int n = 0;
    for (int i = 0; i < dev->nprocs; i++) {
        long long sm = llround(dev->procs[i].sm_pct * scale);
        if (sm <= 0) continue;
        samples[n].pid = dev->procs[i].pid;
        samples[n].timeStamp = stamp;
        samples[n].smUtil = (unsigned int)(sm > 100 ? 100 : sm);
        samples[n].memUtil = samples[n].smUtil / 2;
        samples[n].encUtil = 0;
        samples[n].decUtil = 0;
        n++;
    }
    *count = n;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev, nvmlProcessUtilizationSample_t *samples,
                                             unsigned int *count, unsigned long long last_seen) {
    LOCKED(do_proc_util(dev, samples, count, last_seen));
}
