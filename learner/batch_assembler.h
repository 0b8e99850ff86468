// BatchAssembler: turns trajectories of E env columns, as they arrive, into learner batches of
// exactly B columns, in arrival order. E and B are independent: a trajectory may be split
// across two batches, and a batch may join several trajectories.
#pragma once

#include <cstdint>
#include <vector>

#include "common/wire/trajectory.h"

namespace colony {

class BatchAssembler {
 public:
  explicit BatchAssembler(std::int64_t batch_columns) : batch_(batch_columns) {}

  void Add(Trajectory trajectory);
  std::int64_t columns() const { return columns_; }
  bool Ready() const { return columns_ >= batch_; }
  // The oldest B columns; requires Ready().
  Trajectory Take();

 private:
  std::int64_t batch_;
  std::int64_t columns_ = 0;
  std::vector<Trajectory> pending_;
};

}  // namespace colony
