// Episode statistics from received trajectories (learner/episode_tracker.h).
#include "learner/episode_tracker.h"

#include <torch/torch.h>

namespace colony {

std::vector<env::EpisodeStats> EpisodeTracker::Add(int actor_rank, std::uint64_t sequence,
                                                   const Trajectory& trajectory) {
  ActorState& actor = actors_[actor_rank];
  const std::int64_t steps = trajectory.steps();
  const std::int64_t columns = trajectory.columns();
  if (static_cast<std::int64_t>(actor.columns.size()) != columns ||
      sequence != actor.next_sequence) {
    actor.columns.assign(static_cast<std::size_t>(columns), Column{});  // gap: forget partials
  }
  actor.next_sequence = sequence + 1;

  const auto first = trajectory.first.to(torch::kBool).contiguous();
  const auto rewards = trajectory.rewards.to(torch::kDouble).contiguous();
  const auto ended = (trajectory.terminated | trajectory.truncated).contiguous();
  const bool* first_at = first.data_ptr<bool>();
  const double* reward_at = rewards.data_ptr<double>();
  const bool* ended_at = ended.data_ptr<bool>();

  std::vector<env::EpisodeStats> finished;
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t c = 0; c < columns; ++c) {
      Column& column = actor.columns[static_cast<std::size_t>(c)];
      if (first_at[t * columns + c]) column = Column{true, 0.0, 0};
      column.episode_return += reward_at[t * columns + c];
      column.length += 1;
      if (!ended_at[t * columns + c]) continue;
      if (column.known) {
        finished.push_back({static_cast<int>(c), column.episode_return, column.length});
      }
      column = Column{};  // the next step carries a first flag
    }
  }
  return finished;
}

}  // namespace colony
