// Column bookkeeping for learner batches (learner/batch_assembler.h).
#include "learner/batch_assembler.h"

#include "common/base/check.h"

namespace colony {

void BatchAssembler::Add(Trajectory trajectory) {
  columns_ += trajectory.columns();
  pending_.push_back(std::move(trajectory));
}

Trajectory BatchAssembler::Take() {
  COLONY_CHECK(Ready()) << "Take() with " << columns_ << " of " << batch_ << " columns";
  Trajectory all = pending_.size() == 1 ? std::move(pending_.front()) : Trajectory::Concat(pending_);
  pending_.clear();
  columns_ -= batch_;
  if (all.columns() == batch_) return all;
  pending_.push_back(all.Columns(batch_, columns_));
  return all.Columns(0, batch_);
}

}  // namespace colony
