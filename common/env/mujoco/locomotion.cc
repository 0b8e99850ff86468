// The MuJoCo locomotion kernel and the four tasks' registry entries; see locomotion.h. Built with
// MuJoCo when CMake found it (COLONY_WITH_MUJOCO); without it the tasks are still listed and making
// one throws EnvError saying what to install.
#include "common/env/mujoco/locomotion.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/base/check.h"

#if COLONY_WITH_MUJOCO
#include <mujoco/mujoco.h>
#endif

namespace colony::env {
namespace {

constexpr double kInf = INFINITY;
constexpr double kMaxWeight = 1e9;

LocomotionConfig Defaults(LocomotionTask task) {
  LocomotionConfig c;
  c.task = task;
  switch (task) {
    case LocomotionTask::kHalfCheetah:
      c.xml_file = "half_cheetah.xml";
      c.frame_skip = 5;
      c.ctrl_cost_weight = 0.1;
      c.reset_noise_scale = 0.1;
      break;
    case LocomotionTask::kHopper:
      c.xml_file = "hopper.xml";
      c.frame_skip = 4;
      c.ctrl_cost_weight = 1e-3;
      c.healthy_reward = 1.0;
      c.terminate_when_unhealthy = true;
      c.healthy_state_min = -100.0;
      c.healthy_state_max = 100.0;
      c.healthy_z_min = 0.7;
      c.healthy_z_max = kInf;
      c.healthy_angle_min = -0.2;
      c.healthy_angle_max = 0.2;
      c.reset_noise_scale = 5e-3;
      break;
    case LocomotionTask::kWalker2d:
      c.xml_file = "walker2d_v5.xml";
      c.frame_skip = 4;
      c.ctrl_cost_weight = 1e-3;
      c.healthy_reward = 1.0;
      c.terminate_when_unhealthy = true;
      c.healthy_z_min = 0.8;
      c.healthy_z_max = 2.0;
      c.healthy_angle_min = -1.0;
      c.healthy_angle_max = 1.0;
      c.reset_noise_scale = 5e-3;
      break;
    case LocomotionTask::kAnt:
      c.xml_file = "ant.xml";
      c.frame_skip = 5;
      c.ctrl_cost_weight = 0.5;
      c.contact_cost_weight = 5e-4;
      c.healthy_reward = 1.0;
      c.terminate_when_unhealthy = true;
      c.healthy_z_min = 0.2;
      c.healthy_z_max = 1.0;
      c.contact_force_min = -1.0;
      c.contact_force_max = 1.0;
      c.reset_noise_scale = 0.1;
      break;
  }
  return c;
}

// One parameter: its spec and where it lives in the config. Integers and 0/1 switches are stored as
// doubles in EnvParams and converted here.
struct Field {
  ParamSpec spec;
  double* real = nullptr;
  int* integer = nullptr;
  std::int64_t* count = nullptr;
  bool* flag = nullptr;
};

// The parameters of `task`, bound to the fields of `c` (defaults read from it).
std::vector<Field> Fields(LocomotionTask task, LocomotionConfig& c) {
  auto real = [](const char* name, double* field, double min, double max, const char* help) {
    return Field{ParamSpec{name, *field, min, max, help, "", /*integer=*/false}, field};
  };
  auto flag = [](const char* name, bool* field, const char* help) {
    Field f{ParamSpec{name, *field ? 1.0 : 0.0, 0, 1, help}};
    f.flag = field;
    return f;
  };
  std::vector<Field> fields;
  {
    Field f{ParamSpec{"frame_skip", static_cast<double>(c.frame_skip), 1, 1000,
                      "MuJoCo steps per environment step"}};
    f.integer = &c.frame_skip;
    fields.push_back(f);
  }
  {
    Field f{ParamSpec{"max_episode_steps", static_cast<double>(c.max_episode_steps), 1, 1e9,
                      "TimeLimit: the episode is truncated after this many steps"}};
    f.count = &c.max_episode_steps;
    fields.push_back(f);
  }
  fields.push_back(real("forward_reward_weight", &c.forward_reward_weight, -kMaxWeight, kMaxWeight,
                        "weight of the forward velocity reward"));
  fields.push_back(real("ctrl_cost_weight", &c.ctrl_cost_weight, -kMaxWeight, kMaxWeight,
                        "weight of the control cost (sum of squared actions)"));
  if (task == LocomotionTask::kAnt) {
    fields.push_back(real("contact_cost_weight", &c.contact_cost_weight, -kMaxWeight, kMaxWeight,
                          "weight of the contact cost (sum of squared clipped contact forces)"));
  }
  if (task != LocomotionTask::kHalfCheetah) {
    fields.push_back(real("healthy_reward", &c.healthy_reward, -kMaxWeight, kMaxWeight,
                          "reward for every step that ends healthy"));
    fields.push_back(flag("terminate_when_unhealthy", &c.terminate_when_unhealthy,
                          "1: an unhealthy state ends the episode (terminated)"));
  }
  if (task == LocomotionTask::kHopper) {
    fields.push_back(real("healthy_state_min", &c.healthy_state_min, -kInf, kInf,
                          "healthy: every state value but x and z above this"));
    fields.push_back(real("healthy_state_max", &c.healthy_state_max, -kInf, kInf,
                          "healthy: every state value but x and z below this"));
  }
  if (task != LocomotionTask::kHalfCheetah) {
    fields.push_back(real("healthy_z_min", &c.healthy_z_min, -kInf, kInf,
                          "healthy: the torso's height above this"));
    fields.push_back(real("healthy_z_max", &c.healthy_z_max, -kInf, kInf,
                          "healthy: the torso's height below this"));
  }
  if (task == LocomotionTask::kHopper || task == LocomotionTask::kWalker2d) {
    fields.push_back(real("healthy_angle_min", &c.healthy_angle_min, -kInf, kInf,
                          "healthy: the torso's angle above this"));
    fields.push_back(real("healthy_angle_max", &c.healthy_angle_max, -kInf, kInf,
                          "healthy: the torso's angle below this"));
  }
  if (task == LocomotionTask::kAnt) {
    fields.push_back(real("contact_force_min", &c.contact_force_min, -kInf, kInf,
                          "contact forces are clipped to [min, max]"));
    fields.push_back(real("contact_force_max", &c.contact_force_max, -kInf, kInf,
                          "contact forces are clipped to [min, max]"));
    Field f{ParamSpec{"main_body", 1, 1, 1000,
                      "the body whose x velocity is rewarded (1: the torso)", "[1, bodies - 1]"}};
    f.integer = &c.main_body;
    fields.push_back(f);
  }
  fields.push_back(real("reset_noise_scale", &c.reset_noise_scale, 0, 1e3,
                        "scale of the noise added to the start state"));
  fields.push_back(flag("exclude_current_positions_from_observation",
                        &c.exclude_current_positions_from_observation,
                        "1: the root's x (Ant: x and y) is left out of the observation"));
  if (task == LocomotionTask::kAnt) {
    fields.push_back(flag("include_cfrc_ext_in_observation", &c.include_cfrc_ext_in_observation,
                          "1: the clipped external contact forces are observed"));
  }
  return fields;
}

const char* BaseName(LocomotionTask task) {
  switch (task) {
    case LocomotionTask::kHalfCheetah:
      return "HalfCheetah-v5";
    case LocomotionTask::kHopper:
      return "Hopper-v5";
    case LocomotionTask::kWalker2d:
      return "Walker2d-v5";
    case LocomotionTask::kAnt:
      return "Ant-v5";
  }
  return "";
}

const char* Summary(LocomotionTask task) {
  switch (task) {
    case LocomotionTask::kHalfCheetah:
      return "Gymnasium's HalfCheetah-v5 on native MuJoCo: run forward; reward = "
             "velocity - "
             "0.1 |a|^2, never terminates, truncated at 1000";
    case LocomotionTask::kHopper:
      return "Gymnasium's Hopper-v5 on native MuJoCo: hop forward; reward = "
             "velocity + 1 if "
             "healthy - 0.001 |a|^2, ends when it falls";
    case LocomotionTask::kWalker2d:
      return "Gymnasium's Walker2d-v5 on native MuJoCo: walk forward; reward = "
             "velocity + 1 if "
             "healthy - 0.001 |a|^2, ends when it falls";
    case LocomotionTask::kAnt:
      return "Gymnasium's Ant-v5 on native MuJoCo: walk forward in x; reward = "
             "velocity + 1 if "
             "healthy - 0.5 |a|^2 - contact cost, ends when the torso leaves "
             "[0.2, 1]";
  }
  return "";
}

constexpr LocomotionTask kTasks[] = {LocomotionTask::kHalfCheetah, LocomotionTask::kHopper,
                                     LocomotionTask::kWalker2d, LocomotionTask::kAnt};

// The config for `params` (every parameter present, within range): fields set, name canonical (the
// non-default parameters in table order).
LocomotionConfig ConfigFromParams(LocomotionTask task, const EnvParams& params) {
  LocomotionConfig c = Defaults(task);
  std::string changed;
  for (Field& f : Fields(task, c)) {
    const double value = params.at(f.spec.name);
    if (value != f.spec.default_value) {
      changed += (changed.empty() ? "" : ",") + f.spec.name + "=" + ParamValueText(value);
    }
    if (f.real != nullptr) *f.real = value;
    if (f.integer != nullptr) *f.integer = static_cast<int>(value);
    if (f.count != nullptr) *f.count = static_cast<std::int64_t>(value);
    if (f.flag != nullptr) *f.flag = value != 0;
  }
  c.name = std::string(BaseName(task)) + (changed.empty() ? "" : ":" + changed);
  return c;
}

#if COLONY_WITH_MUJOCO

// numpy's sum of a contiguous float array (pairwise_sum in its umath loops): under 8 values in
// order from zero; up to 128 in 8 interleaved partial sums combined as a tree, then the rest in
// order; above that, the two halves (the first a multiple of 8) summed so and added.
template <typename T>
T NumpySum(const T* a, std::size_t n) {
  if (n < 8) {
    T sum = T(0);
    for (std::size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    T r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    T sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return NumpySum(a, half) + NumpySum(a + half, n - half);
}

// Where Gymnasium's model files are: COLONY_MUJOCO_ASSETS, else the gymnasium package that CMake
// found in Colony's venv.
std::string AssetsDir() {
  const char* dir = std::getenv("COLONY_MUJOCO_ASSETS");
  if (dir != nullptr && *dir != '\0') return dir;
  return COLONY_GYMNASIUM_MUJOCO_ASSETS;
}

// MuJoCo's default warning handler prints to stdout and appends to MUJOCO_LOG.TXT in the working
// directory; Colony's go to stderr, a few per process (each env counts its own in mjData.warning,
// which is what the kernel reads). Deprecation notes about Gymnasium's model files, given while one
// loads, are not Colony's users' to act on and are left out.
thread_local bool loading_model = false;

void QuietWarning(const char* message) {
  static std::atomic<int> shown = 0;
  constexpr int kShown = 5;
  if (loading_model && std::strstr(message, "deprecated") != nullptr) return;
  const int n = ++shown;
  if (n <= kShown) {
    std::fprintf(stderr, "colony: MuJoCo warning: %s%s\n", message,
                 n == kShown ? " (further MuJoCo warnings not shown)" : "");
  }
}

using ModelPtr = std::shared_ptr<const mjModel>;

ModelPtr LoadModel(const LocomotionConfig& c) {
  if (mju_user_warning == nullptr) mju_user_warning = QuietWarning;
  const std::string path = AssetsDir() + "/" + c.xml_file;
  if (!std::filesystem::is_regular_file(path)) {
    throw EnvError(c.name + ": MuJoCo model file " + path +
                   " not found: Colony reads Gymnasium's own models; install "
                   "gymnasium into "
                   "Colony's venv (launch/setup does) and rebuild, or set "
                   "COLONY_MUJOCO_ASSETS "
                   "to a folder holding " +
                   c.xml_file);
  }
  char error[1024] = "";
  loading_model = true;
  mjModel* model = mj_loadXML(path.c_str(), nullptr, error, sizeof error);
  loading_model = false;
  if (model == nullptr) {
    throw EnvError(c.name + ": MuJoCo could not load " + path + ": " + error);
  }
  ModelPtr owned(model, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
  if (c.task == LocomotionTask::kAnt && c.main_body >= model->nbody) {
    throw EnvError(c.name + ": parameter main_body: expected an integer in [1, " +
                   std::to_string(model->nbody - 1) + "] (the model's bodies), got " +
                   std::to_string(c.main_body));
  }
  return owned;
}

struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

class Locomotion final : public BatchEnv {
 public:
  Locomotion(LocomotionConfig config, ModelPtr model, int num_envs)
      : BatchEnv(MakeSpec(config, *model), num_envs),
        c_(std::move(config)),
        m_(std::move(model)),
        elapsed_(static_cast<std::size_t>(num_envs), 0),
        dt_(m_->opt.timestep * c_.frame_skip),
        skip_(SkippedQpos(c_)),
        clip_qvel_(c_.task == LocomotionTask::kHopper || c_.task == LocomotionTask::kWalker2d),
        contact_(c_.task == LocomotionTask::kAnt),
        squares_(static_cast<std::size_t>(contact_ ? 6 * m_->nbody : 0)) {
    data_.reserve(static_cast<std::size_t>(num_envs));
    for (int i = 0; i < num_envs; ++i) {
      mjData* d = mj_makeData(m_.get());
      if (d == nullptr) throw EnvError(c_.name + ": MuJoCo could not allocate its data");
      data_.emplace_back(d);
    }
  }

  void Reset(int i, float* obs_row) override {
    mjData* d = data_[static_cast<std::size_t>(i)].get();
    mj_resetData(m_.get(), d);
    // Gymnasium's reset_model: qpos0 + U(-s, s); qvel 0 + U(-s, s) (Hopper, Walker2d) or
    // s * N(0, 1) (HalfCheetah, Ant).
    Rng& r = rng(i);
    const double s = c_.reset_noise_scale;
    for (int j = 0; j < m_->nq; ++j) d->qpos[j] = m_->qpos0[j] + r.Uniform(-s, s);
    const bool uniform_qvel = clip_qvel_;
    for (int j = 0; j < m_->nv; ++j) d->qvel[j] = uniform_qvel ? r.Uniform(-s, s) : s * r.Normal();
    mj_forward(m_.get(), d);
    elapsed_[static_cast<std::size_t>(i)] = 0;
    WriteObs(d, obs_row);
  }

  void Step(const std::int64_t*, bool, float*, float*, std::uint8_t*, std::uint8_t*) override {
    throw EnvError(spec().name + ": takes Box actions (" + ActionSpaceText(spec()) +
                   "), not integers");
  }

  void StepBox(const float* actions, bool auto_reset, float* obs, float* rewards,
               std::uint8_t* terminated, std::uint8_t* truncated) override {
    ClearStepFaults();
    const auto nu = static_cast<std::size_t>(m_->nu);
    const auto dim = static_cast<std::size_t>(spec().obs_dim);
    for (std::size_t e = 0; e < data_.size(); ++e) {
      mjData* d = data_[e].get();
      const float* action = actions + e * nu;
      float* row = obs + e * dim;
      const double before = ForwardPosition(d);
      for (std::size_t j = 0; j < nu; ++j) d->ctrl[j] = action[j];
      for (int w : {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC}) d->warning[w].number = 0;
      for (int k = 0; k < c_.frame_skip; ++k) mj_step(m_.get(), d);
      if (contact_) mj_rnePostConstraint(m_.get(), d);
      ++elapsed_[e];
      if (d->warning[mjWARN_BADQPOS].number + d->warning[mjWARN_BADQVEL].number +
              d->warning[mjWARN_BADQACC].number >
          0) {
        // MuJoCo has already reset this data to qpos0: the episode is over, but not by the task's
        // rules. Dropped like a fault in user code (env.h's StepFaulted).
        ++unstable_;
        MarkStepFault(static_cast<int>(e));
        rewards[e] = 0.0f;
        terminated[e] = 0;
        truncated[e] = 1;
        if (auto_reset) {
          Reset(static_cast<int>(e), row);
        } else {
          std::fill(row, row + dim, 0.0f);
        }
        continue;
      }
      const double velocity = (ForwardPosition(d) - before) / dt_;
      const bool healthy = Healthy(d);
      rewards[e] = static_cast<float>(Reward(d, action, velocity, healthy));
      terminated[e] = !healthy && c_.terminate_when_unhealthy;
      truncated[e] = elapsed_[e] >= c_.max_episode_steps;
      if (auto_reset && (terminated[e] | truncated[e])) {
        Reset(static_cast<int>(e), row);
      } else {
        WriteObs(d, row);
      }
    }
  }

  void SetState(int i, std::span<const double> state, float* obs_row) override {
    COLONY_CHECK(state.size() == static_cast<std::size_t>(m_->nq + m_->nv)) << state.size();
    mjData* d = data_[static_cast<std::size_t>(i)].get();
    mj_resetData(m_.get(), d);
    std::copy(state.begin(), state.begin() + m_->nq, d->qpos);
    std::copy(state.begin() + m_->nq, state.end(), d->qvel);
    mj_forward(m_.get(), d);
    elapsed_[static_cast<std::size_t>(i)] = 0;
    WriteObs(d, obs_row);
  }

  std::vector<double> GetState(int i) const override {
    const mjData* d = data_[static_cast<std::size_t>(i)].get();
    std::vector<double> state(d->qpos, d->qpos + m_->nq);
    state.insert(state.end(), d->qvel, d->qvel + m_->nv);
    return state;
  }

  std::int64_t env_errors() const override { return unstable_; }

 private:
  // Leading qpos entries left out of the observation: the root's x (Ant: x and y).
  static int SkippedQpos(const LocomotionConfig& c) {
    if (!c.exclude_current_positions_from_observation) return 0;
    return c.task == LocomotionTask::kAnt ? 2 : 1;
  }

  static EnvSpec MakeSpec(const LocomotionConfig& c, const mjModel& m) {
    EnvSpec spec;
    spec.name = c.name;
    spec.obs_dim = m.nq - SkippedQpos(c) + m.nv;
    if (c.task == LocomotionTask::kAnt && c.include_cfrc_ext_in_observation) {
      spec.obs_dim += 6 * (m.nbody - 1);
    }
    spec.obs_shape = {spec.obs_dim};
    spec.action_dim = m.nu;
    for (int j = 0; j < m.nu; ++j) {
      // Gymnasium's Box is float32 of the ranges; so are the bounds here.
      spec.action_low.push_back(static_cast<float>(m.actuator_ctrlrange[2 * j]));
      spec.action_high.push_back(static_cast<float>(m.actuator_ctrlrange[2 * j + 1]));
    }
    spec.max_episode_steps = c.max_episode_steps;
    for (int j = 0; j < m.nq; ++j) spec.state_names.push_back("qpos" + std::to_string(j));
    for (int j = 0; j < m.nv; ++j) spec.state_names.push_back("qvel" + std::to_string(j));
    return spec;
  }

  // What the forward reward differentiates: the root's x (qpos[0]), or for Ant the main body's x in
  // world coordinates (as of the last mj_step's kinematics, as Gymnasium reads it).
  double ForwardPosition(const mjData* d) const {
    return contact_ ? d->xpos[3 * c_.main_body] : d->qpos[0];
  }

  bool Healthy(const mjData* d) const {
    const double* q = d->qpos;
    switch (c_.task) {
      case LocomotionTask::kHalfCheetah:
        return true;
      case LocomotionTask::kHopper: {
        // state_vector()[2:]: qpos from the angle on, then every qvel, strictly inside.
        auto inside = [&](double v) {
          return c_.healthy_state_min < v && v < c_.healthy_state_max;
        };
        if (!std::all_of(q + 2, q + m_->nq, inside)) return false;
        if (!std::all_of(d->qvel, d->qvel + m_->nv, inside)) return false;
        return c_.healthy_z_min < q[1] && q[1] < c_.healthy_z_max && c_.healthy_angle_min < q[2] &&
               q[2] < c_.healthy_angle_max;
      }
      case LocomotionTask::kWalker2d:
        return c_.healthy_z_min < q[1] && q[1] < c_.healthy_z_max && c_.healthy_angle_min < q[2] &&
               q[2] < c_.healthy_angle_max;
      case LocomotionTask::kAnt: {
        auto finite = [](double v) { return std::isfinite(v); };
        return std::all_of(q, q + m_->nq, finite) &&
               std::all_of(d->qvel, d->qvel + m_->nv, finite) && c_.healthy_z_min <= q[2] &&
               q[2] <= c_.healthy_z_max;
      }
    }
    return true;
  }

  // Gymnasium v5's reward, in its precision: the control cost is float32 (float32 action, numpy 2
  // keeps a Python float times a float32 scalar in float32), the rest float64.
  double Reward(const mjData* d, const float* action, double velocity, bool healthy) {
    const auto nu = static_cast<std::size_t>(m_->nu);
    float squares[64];
    COLONY_CHECK(nu <= 64) << nu;
    for (std::size_t j = 0; j < nu; ++j) squares[j] = action[j] * action[j];
    const float ctrl_cost = static_cast<float>(c_.ctrl_cost_weight) * NumpySum(squares, nu);
    const double forward = c_.forward_reward_weight * velocity;
    if (c_.task == LocomotionTask::kHalfCheetah) return forward - static_cast<double>(ctrl_cost);
    const double rewards = forward + (healthy ? c_.healthy_reward : 0.0);
    if (!contact_) return rewards - static_cast<double>(ctrl_cost);
    for (std::size_t k = 0; k < squares_.size(); ++k) {
      const double f = std::clamp(d->cfrc_ext[k], c_.contact_force_min, c_.contact_force_max);
      squares_[k] = f * f;
    }
    const double contact_cost = c_.contact_cost_weight * NumpySum(squares_.data(), squares_.size());
    return rewards - (static_cast<double>(ctrl_cost) + contact_cost);
  }

  void WriteObs(const mjData* d, float* row) const {
    std::size_t k = 0;
    for (int j = skip_; j < m_->nq; ++j) row[k++] = static_cast<float>(d->qpos[j]);
    for (int j = 0; j < m_->nv; ++j) {
      const double v = d->qvel[j];
      // np.clip keeps NaN; so does this form.
      row[k++] = static_cast<float>(clip_qvel_ ? (v < -10.0 ? -10.0 : (v > 10.0 ? 10.0 : v)) : v);
    }
    if (contact_ && c_.include_cfrc_ext_in_observation) {
      for (int j = 6; j < 6 * m_->nbody; ++j) {
        const double f = d->cfrc_ext[j];
        row[k++] = static_cast<float>(f < c_.contact_force_min
                                          ? c_.contact_force_min
                                          : (f > c_.contact_force_max ? c_.contact_force_max : f));
      }
    }
  }

  LocomotionConfig c_;
  ModelPtr m_;
  std::vector<DataPtr> data_;          // one mjData per env, all on the shared model
  std::vector<std::int64_t> elapsed_;  // steps in the current episode
  double dt_;                          // model timestep x frame_skip, as Gymnasium's dt
  int skip_;                           // leading qpos entries left out of the observation
  bool clip_qvel_;                     // Hopper, Walker2d: qvel clipped to +-10 (and
                                       // uniform qvel noise)
  bool contact_;                       // Ant: contact forces, main body's xpos
  std::vector<double> squares_;        // Ant's squared clipped contact forces, [6 nbody]
  std::int64_t unstable_ = 0;          // steps on which the physics blew up
};

#endif  // COLONY_WITH_MUJOCO

}  // namespace

std::vector<EnvInfo> LocomotionEnvs() {
  std::vector<EnvInfo> envs;
  for (LocomotionTask task : kTasks) {
    LocomotionConfig defaults = Defaults(task);
    std::vector<ParamSpec> params;
    for (const Field& f : Fields(task, defaults)) params.push_back(f.spec);
    envs.push_back({BaseName(task), Summary(task), params, [task](const EnvParams& p, int n) {
                      return MakeLocomotion(ConfigFromParams(task, p), n);
                    }});
  }
  return envs;
}

bool IsLocomotionEnvName(const std::string& env_text) {
  const std::string base = env_text.substr(0, env_text.find(':'));
  return std::any_of(std::begin(kTasks), std::end(kTasks),
                     [&](LocomotionTask t) { return base == BaseName(t); });
}

#if COLONY_WITH_MUJOCO

bool HaveMujoco() { return true; }

std::string MujocoVersion() { return mj_versionString(); }

std::unique_ptr<BatchEnv> MakeLocomotion(const LocomotionConfig& config, int num_envs) {
  return std::make_unique<Locomotion>(config, LoadModel(config), num_envs);
}

double BareMujocoStepsPerSecond(const std::string& env_text, double seconds) {
  const ParsedEnvName parsed = ParseEnvName(env_text);
  LocomotionTask task = LocomotionTask::kHalfCheetah;
  for (LocomotionTask t : kTasks) {
    if (parsed.info->name == BaseName(t)) task = t;
  }
  const LocomotionConfig c = ConfigFromParams(task, parsed.params);
  const ModelPtr model = LoadModel(c);
  DataPtr data(mj_makeData(model.get()));
  // Uniform random controls from a table, a new row every step (as env_bench's actions), and a
  // fresh start (qpos0) every max_episode_steps: the physics an env step runs, nothing else.
  constexpr int kRows = 64;
  const int nu = model->nu;
  std::vector<double> controls(static_cast<std::size_t>(kRows * nu));
  Rng rng(12345);
  for (std::size_t i = 0; i < controls.size(); ++i) {
    const auto j = static_cast<int>(i % static_cast<std::size_t>(nu));
    controls[i] =
        rng.Uniform(model->actuator_ctrlrange[2 * j], model->actuator_ctrlrange[2 * j + 1]);
  }
  mj_forward(model.get(), data.get());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::int64_t steps = 0;
  double elapsed = 0;
  do {
    for (int batch = 0; batch < 100; ++batch, ++steps) {
      const double* row = &controls[static_cast<std::size_t>((steps % kRows) * nu)];
      std::copy(row, row + nu, data->ctrl);
      for (int k = 0; k < c.frame_skip; ++k) mj_step(model.get(), data.get());
      if ((steps + 1) % c.max_episode_steps == 0) {
        mj_resetData(model.get(), data.get());
        mj_forward(model.get(), data.get());
      }
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(steps) / elapsed;
}

#else

namespace {
[[noreturn]] void NoMujoco(const std::string& name) {
  throw EnvError(name +
                 ": this Colony was built without MuJoCo: install it into Colony's venv "
                 "(launch/setup installs PyPI's mujoco) and rebuild with launch/build, or "
                 "point "
                 "CMake's COLONY_MUJOCO_DIR at a MuJoCo holding include/mujoco/mujoco.h "
                 "and "
                 "lib/libmujoco.so");
}
}  // namespace

bool HaveMujoco() { return false; }

std::string MujocoVersion() { return ""; }

std::unique_ptr<BatchEnv> MakeLocomotion(const LocomotionConfig& config, int) {
  NoMujoco(config.name);
}

double BareMujocoStepsPerSecond(const std::string& env_text, double) { NoMujoco(env_text); }

#endif  // COLONY_WITH_MUJOCO

}  // namespace colony::env
