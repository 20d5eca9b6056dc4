#include "image/image_summaries.h"

#include "image/summary_input.h"
#include "image/summary_renderers.h"

namespace cryo::image {

Result<std::string> render_summary(const DirFd& dir, const Inventory& inventory, Summary summary, PrintFormat format) {
  SummaryNeeds needs;
  needs.core = true;  // Every summary names its processes by comm.
  needs.files = summary == Summary::Fds;
  needs.memory = summary == Summary::Memory;
  ASSIGN_OR_RETURN(SummaryInput input, read_summary_input(dir, inventory, needs));
  switch (summary) {
    case Summary::Tree: return render_tree_summary(input, format);
    case Summary::Fds: return render_fd_summary(input, format);
    case Summary::Memory: return render_memory_summary(input, format);
  }
  return fail("unknown summary");
}

}  // namespace cryo::image
