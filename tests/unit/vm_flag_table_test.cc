// The VmFlags table: every mnemonic once, every restored flag with its field and step, every
// refused one with its reason; guard pages are never taken for data.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "image/vm_flag_table.h"
#include "kernel/proc_pagemap.h"

namespace cryo {
namespace {

using image::VmFlagHandling;

TEST(VmFlagTable, EveryMnemonicOnceWithWhatItsHandlingNeeds) {
  std::set<std::string_view> seen;
  for (const auto& rule : image::vm_flag_rules()) {
    EXPECT_TRUE(seen.insert(rule.mnemonic).second) << rule.mnemonic;
    EXPECT_EQ(rule.mnemonic.size(), 2u) << rule.mnemonic;
    switch (rule.handling) {
      case VmFlagHandling::MadviseBeforeFill:
      case VmFlagHandling::MadviseAfterFill:
        EXPECT_NE(rule.advice, 0) << rule.mnemonic;
        [[fallthrough]];
      case VmFlagHandling::Lock:
      case VmFlagHandling::Seal:
      case VmFlagHandling::GuardHistory:
        EXPECT_TRUE(rule.get && rule.set) << rule.mnemonic << " has no image field";
        break;
      case VmFlagHandling::Refused:
        EXPECT_FALSE(rule.refusal.empty()) << rule.mnemonic;
        break;
      default:
        break;
    }
  }
  // The flags the issue names, and proc.rst's list as of 6.18.
  for (std::string_view m : {"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "lo", "io", "sr", "rr", "dc", "de",
                             "ac", "nr", "ht", "sf", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg", "bt", "mt", "um", "uw",
                             "ui", "ss", "sl", "lf", "dp", "gu"})
    EXPECT_NE(image::vm_flag_rule(m), nullptr) << m;
  EXPECT_EQ(image::vm_flag_rule("zz"), nullptr);
}

TEST(VmFlagTable, FieldsRoundTrip) {
  for (const auto& rule : image::vm_flag_rules()) {
    if (!rule.set) continue;
    image::Vma vma;
    (vma.*rule.set)(true);
    EXPECT_TRUE((vma.*rule.get)()) << rule.mnemonic;
  }
}

TEST(ProcPagemap, GuardPagesAreNotPrivateData) {
  // A guard shows as swapped plus bit 58.
  std::vector<uint64_t> entries = {kPagemapPresent, kPagemapSwapped | kPagemapGuard, kPagemapPresent};
  std::vector<PageRange> data, guards;
  append_private_pages(entries, 0x10000, data);
  append_guard_pages(entries, 0x10000, guards);
  EXPECT_EQ(data, (std::vector<PageRange>{{0x10000, 0x11000}, {0x12000, 0x13000}}));
  EXPECT_EQ(guards, (std::vector<PageRange>{{0x11000, 0x12000}}));
}

}  // namespace
}  // namespace cryo
